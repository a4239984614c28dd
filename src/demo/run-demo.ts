/**
 * `hbr demo`: the main job end to end on a generated sample, with nothing to set up. It backs up
 * a sample of the platform's file storage, changes it, backs up again, verifies every blob,
 * restores into a scratch folder and compares every file with the source.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { backupFiles, RECORDED_FIELDS } from '../drivers/files/index.ts';
import { restoreFiles } from '../drivers/files/index.ts';
import { IntegrityError, UsageError } from '../errors.ts';
import { checkRepository } from '../repository/check.ts';
import {
  initRepository,
  startSession,
  type BackupRecord,
  type OpenRepository,
} from '../repository/index.ts';
import { createLocalStore } from '../stores/local.ts';
import { mutateSample, writeSample } from './sample-data.ts';

/** One step of the demo as it is reported. */
export interface DemoStep {
  readonly step: string;
  readonly durationMs: number;
  readonly detail: Record<string, number | string | boolean>;
}

/** Runs the demo in `workspace` (created if needed); `onStep` sees each step as it ends. */
export async function runDemo(
  workspace: string,
  onStep: (step: DemoStep) => void,
  signal?: AbortSignal,
): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  const timed = async <T>(
    step: string,
    work: () => Promise<T>,
    detail: (result: T) => DemoStep['detail'],
  ): Promise<T> => {
    const started = performance.now();
    const result = await work();
    const done = { step, durationMs: performance.now() - started, detail: detail(result) };
    steps.push(done);
    onStep(done);
    return result;
  };
  const source = join(workspace, 'platform-storage');
  const target = join(workspace, 'restored');
  await _claimWorkspace(workspace);

  const sample = await timed(
    'generate sample',
    () => writeSample(source),
    (s) => ({ files: s.files, bytes: s.bytes }),
  );
  const repo = await timed(
    'create repository',
    () =>
      initRepository(createLocalStore({ path: join(workspace, 'repository') }), {
        kind: 'password',
        password: randomBytes(16).toString('hex'),
      }),
    (r) => ({ id: r.config.id.slice(0, 8), path: join(workspace, 'repository') }),
  );
  const first = await timed(
    'backup 1',
    () => _backup(repo, source, undefined, signal),
    _backupDetail,
  );
  const mutation = await timed(
    'change files',
    () => mutateSample(source),
    (m) => ({ changed: m.changed, added: m.added }),
  );
  void mutation;
  const second = await timed('backup 2', () => _backup(repo, source, first, signal), _backupDetail);
  await timed(
    'check --read-data',
    () => checkRepository(repo, { readData: true, signal }),
    (r) => {
      if (!r.ok)
        throw new IntegrityError(
          `demo: check found problems: ${r.problems.map((p) => p.message).join('; ')}`,
        );
      return { ok: r.ok, packs: r.stats.packsRead, bytes: r.stats.bytesRead };
    },
  );
  await timed(
    'restore',
    () => restoreFiles({ repo, backup: second, target, signal }),
    (r) => ({ files: r.files, bytes: r.bytes, errors: r.errors.length }),
  );
  await timed(
    'compare',
    () => _compare(source, join(target, source)),
    (c) => ({ files: c.files, identical: c.identical }),
  );
  void sample;
  return steps;
}

// --- internal ---

async function _backup(
  repo: OpenRepository,
  path: string,
  parent: BackupRecord | undefined,
  signal?: AbortSignal,
): Promise<BackupRecord> {
  const session = await startSession(repo, { signal });
  const startedAt = new Date();
  const result = await backupFiles({
    session,
    repo,
    paths: [path],
    ...(parent ? { parentTree: parent.tree } : {}),
    signal,
  });
  return session.commitTree(
    result.tree,
    {
      source: 'demo',
      kind: 'files',
      type: 'snapshot',
      startedAt,
      paths: [path],
      ...(parent ? { parent: parent.id } : {}),
      meta: { ...result.stats, recorded: [...RECORDED_FIELDS] },
    },
    { files: result.stats.files, bytes: result.stats.bytes },
  );
}

function _backupDetail(b: BackupRecord): DemoStep['detail'] {
  const meta = b.meta as {
    newFiles?: number;
    changedFiles?: number;
    unchangedFiles?: number;
    bytesRead?: number;
  };
  return {
    id: b.shortId,
    files: b.summary.files,
    bytes: b.summary.bytes,
    read: meta.bytesRead ?? 0,
    added: b.summary.addedBytes,
    new: meta.newFiles ?? 0,
    changed: meta.changedFiles ?? 0,
    unchanged: meta.unchangedFiles ?? 0,
  };
}

async function _compare(a: string, b: string): Promise<{ files: number; identical: boolean }> {
  const [left, right] = [await _hashes(a), await _hashes(b)];
  const identical =
    left.size === right.size && [...left].every(([path, hash]) => right.get(path) === hash);
  if (!identical) throw new IntegrityError(`demo: the restored files differ from the source`);
  return { files: left.size, identical };
}

async function _hashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(
      relative(root, path),
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    );
  }
  return out;
}

/** The file that marks a folder as a demo's workspace, which a later demo may replace. */
const WORKSPACE_MARK = '.hbr-demo';

/**
 * Empties `workspace` for a new run: a folder that does not exist, is empty, or was a demo's.
 * Anything else is refused, since `--dir .` or a mistyped path would otherwise be deleted.
 */
async function _claimWorkspace(workspace: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(workspace);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UsageError(`the demo cannot use ${workspace}: ${(error as Error).message}`);
    }
    names = [];
  }
  if (names.length > 0 && !names.includes(WORKSPACE_MARK)) {
    throw new UsageError(
      `${workspace} holds files and no earlier demo's: give --dir a new or empty folder (the demo replaces it)`,
    );
  }
  await rm(workspace, { recursive: true, force: true });
  await mkdir(workspace, { recursive: true });
  await writeFile(
    join(workspace, WORKSPACE_MARK),
    'A workspace of `hbr demo`, replaced by the next.\n',
  );
}

/**
 * Restores a files backup, or the parts of it under `include` paths, into a target folder. Each
 * file is written under a temporary name and renamed into place only after its content hash
 * verified, so a failed file is absent, never torn. Existing files are refused unless
 * `overwrite`. Metadata (mode, mtime) is set after content; folders last, deepest first.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, lutimes, mkdir, open, rename, rm, symlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import pLimit from 'p-limit';
import { UsageError } from '../../errors.ts';
import {
  createByteBudget,
  writeContent,
  type BackupRecord,
  type ByteBudget,
  type OpenRepository,
  type TreeNode,
} from '../../repository/index.ts';

export interface FilesRestoreOptions {
  readonly repo: OpenRepository;
  readonly backup: BackupRecord;
  /** Folder to restore into; backed-up absolute paths are recreated below it. */
  readonly target: string;
  /** Paths inside the backup (as `hbr ls` shows them) to restore; all when empty. */
  readonly include?: readonly string[];
  readonly overwrite?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: {
    files: number;
    bytes: number;
    totalFiles: number;
    totalBytes: number;
  }) => void;
}

export interface FilesRestoreResult {
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  readonly errors: readonly { path: string; message: string }[];
}

interface Planned {
  readonly path: string;
  readonly node: TreeNode;
}

/**
 * Restores files.
 * @throws UsageError when an include path is not in the backup, or files exist without `overwrite`.
 */
export async function restoreFiles(options: FilesRestoreOptions): Promise<FilesRestoreResult> {
  const { repo, target, signal } = options;
  const include = (options.include ?? []).map((p) => `/${p.split('/').filter(Boolean).join('/')}`);
  const planned: Planned[] = [];
  const matched = new Set<string>();
  const collect = async (tree: string, prefix: string): Promise<void> => {
    for (const node of await repo.readTree(tree, signal)) {
      const path = `${prefix}/${node.name}`;
      const inside =
        include.length === 0 || include.some((i) => path === i || path.startsWith(`${i}/`));
      const above = include.some((i) => i.startsWith(`${path}/`));
      for (const i of include) if (path === i) matched.add(i);
      if (!inside && !above) continue;
      planned.push({ path, node });
      if (node.type === 'dir' && node.subtree) await collect(node.subtree, path);
    }
  };
  await collect(options.backup.tree, '');
  const missing = include.filter((i) => !matched.has(i));
  if (missing.length > 0)
    throw new UsageError(`not in backup ${options.backup.shortId}: ${missing.join(', ')}`);

  const files = planned.filter((p) => p.node.type !== 'dir');
  if (!options.overwrite) {
    const existing: string[] = [];
    for (const p of files) {
      if (
        await lstat(join(target, p.path)).then(
          () => true,
          () => false,
        )
      )
        existing.push(join(target, p.path));
    }
    if (existing.length > 0) {
      const shown = existing.slice(0, 5).join(', ');
      throw new UsageError(
        `refusing to overwrite ${existing.length} existing file(s) (${shown}${existing.length > 5 ? ', …' : ''}); use --overwrite`,
      );
    }
  }

  const dirs = planned.filter((p) => p.node.type === 'dir');
  await mkdir(target, { recursive: true });
  for (const d of dirs) await mkdir(join(target, d.path), { recursive: true, mode: 0o700 });

  const totals = {
    files: 0,
    bytes: 0,
    totalFiles: files.length,
    totalBytes: files.reduce((s, p) => s + (p.node.size ?? 0), 0),
  };
  const errors: { path: string; message: string }[] = [];
  // Files at once: enough to hide per-file system calls; the byte budget bounds their memory.
  const limit = pLimit(8);
  const budget = createByteBudget(RESTORE_BUDGET);
  const made = new Set([target, ...dirs.map((d) => join(target, d.path))]);
  await Promise.all(
    files.map((p) =>
      limit(async () => {
        signal?.throwIfAborted();
        try {
          const path = join(target, p.path);
          if (!made.has(dirname(path))) await mkdir(dirname(path), { recursive: true });
          await _restoreEntry(repo, p, path, Boolean(options.overwrite), budget, signal);
          totals.files++;
          totals.bytes += p.node.size ?? 0;
          options.onProgress?.(totals);
        } catch (error) {
          if (signal?.aborted) throw error;
          errors.push({ path: p.path, message: (error as Error).message });
        }
      }),
    ),
  );
  // Folder metadata last, deepest first, since writing into a folder changes its mtime.
  for (const d of [...dirs].reverse()) {
    const path = join(target, d.path);
    await chmod(path, d.node.mode);
    const time = _time(d.node.mtime);
    await utimes(path, time, time);
  }
  return { files: totals.files, dirs: dirs.length, bytes: totals.bytes, errors };
}

// --- internal ---

/** Plaintext bytes of blobs read ahead across all files being restored. */
const RESTORE_BUDGET = 24 * 1024 * 1024;

async function _restoreEntry(
  repo: OpenRepository,
  p: Planned,
  path: string,
  overwrite: boolean,
  budget: ByteBudget,
  signal?: AbortSignal,
): Promise<void> {
  const time = _time(p.node.mtime);
  if (overwrite) await rm(path, { force: true });
  if (p.node.type === 'symlink') {
    await symlink(p.node.linkTarget ?? '', path);
    await lutimes(path, time, time).catch(() => undefined); // not every file system keeps link times
    return;
  }
  const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.hbr-restore`);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      // Verified blob by blob, and against the file's SHA-256, before the rename below.
      await writeContent(
        repo,
        { content: p.node.content ?? [], sha256: p.node.sha256, size: p.node.size },
        handle,
        { budget, signal, what: p.path },
      );
    } finally {
      await handle.close();
    }
    await chmod(temp, p.node.mode);
    await utimes(temp, time, time);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Nanoseconds since the epoch (string) → seconds with fraction, as utimes takes. */
function _time(ns: string): number {
  return Number(BigInt(ns) / 1000n) / 1e6;
}

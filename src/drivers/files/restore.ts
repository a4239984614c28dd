/**
 * Restores a files backup, or the parts of it under `include` paths, into a target folder. Each
 * file is written under a temporary name and renamed into place only after its content hash
 * verified, so a failed file is absent, never torn. Existing files are refused unless
 * `overwrite`. Metadata (mode, mtime) is set after content; folders last, deepest first.
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  chmod,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  symlink,
  utimes,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import pLimit from 'p-limit';
import { UsageError } from '../../errors.ts';
import { createDirectWrites, type DirectWrites } from '../../util/direct-writes.ts';
import { favourMemoryOverSpeed } from '../../util/heap-sizing.ts';
import { tracePhase } from '../../util/trace.ts';
import {
  createByteBudget,
  planBatches,
  restoreBatch,
  writeContent,
  type BatchBlob,
  type BackupRecord,
  type ByteBudget,
  type OpenRepository,
  type RestoreFile,
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
  // The plan holds every file of the backup (35-45 MB of objects for 20,000 files): sized for
  // memory from the start, the heap peaked 12 MB lower, in the same CPU time.
  favourMemoryOverSpeed();
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
  tracePhase('trees read');
  const missing = include.filter((i) => !matched.has(i));
  if (missing.length > 0)
    throw new UsageError(`not in backup ${options.backup.shortId}: ${missing.join(', ')}`);

  const files = planned.filter((p) => p.node.type !== 'dir');
  if (!options.overwrite) {
    const existing = await _existing(target, files);
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
  // 4 MiB of aligned memory: a device write takes a fraction of the time a piece takes to decode.
  const direct = createDirectWrites({ pieces: 4, perFile: 2 });
  const made = new Set([target, ...dirs.map((d) => join(target, d.path))]);
  const restored = (p: Planned): void => {
    totals.files++;
    totals.bytes += p.node.size ?? 0;
    options.onProgress?.(totals);
  };
  const failed = (p: Planned, error: unknown): void => {
    if (signal?.aborted) throw error;
    errors.push({ path: p.path, message: (error as Error).message });
  };
  tracePhase('folders made');
  // Files of one blob are restored in pack order, many per ranged read; the rest file by file.
  const index = await repo.index({ signal });
  const single = new Map<string, { blob: BatchBlob; files: Planned[] }>();
  const others: Planned[] = [];
  for (const p of files) {
    const hex = p.node.type === 'file' && p.node.content?.length === 1 ? p.node.content[0] : '';
    const id = Buffer.from(hex ?? '', 'hex');
    const where = hex ? index.get(id) : undefined;
    if (!hex || !where) {
      others.push(p);
      continue;
    }
    const group = single.get(hex) ?? { blob: { id, where }, files: [] };
    group.files.push(p);
    single.set(hex, group);
  }
  const batchLimit = pLimit(BATCHES_IN_FLIGHT);
  const overwrite = Boolean(options.overwrite);
  const batches = planBatches(
    [...single.values()].map((g) => g.blob),
    BATCH_SPAN,
  ).map((batch) =>
    batchLimit(async () => {
      signal?.throwIfAborted();
      const planned = batch.map((b) => single.get(b.id.toString('hex'))?.files ?? []);
      const files = await Promise.all(
        planned.map((group) =>
          Promise.all(group.map((p) => _smallFile(p, target, made, overwrite))),
        ),
      );
      const results = await restoreBatch(repo, batch, files, signal);
      planned.forEach((group, i) =>
        group.forEach((p, j) => {
          const error = results[i]?.[j];
          if (error) failed(p, error);
          else restored(p);
        }),
      );
    }),
  );
  await Promise.all([
    ...batches,
    ...others.map((p) =>
      limit(async () => {
        signal?.throwIfAborted();
        try {
          const path = join(target, p.path);
          if (!made.has(dirname(path))) await mkdir(dirname(path), { recursive: true });
          const write = { budget, direct, ...(signal ? { signal } : {}) };
          await _restoreEntry(repo, p, path, Boolean(options.overwrite), write);
          restored(p);
        } catch (error) {
          failed(p, error);
        }
      }),
    ),
  ]);
  tracePhase('files restored');
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

/**
 * The paths of `files` that already exist under `target`, found by listing each of their folders
 * once rather than by one `lstat` per file (each a trip to the libuv pool: 20,000 of them took
 * about a second before a restore of the benchmark began). A folder that is missing or no folder
 * holds nothing; one that cannot be listed has its files looked up one by one.
 */
async function _existing(target: string, files: readonly Planned[]): Promise<string[]> {
  // A new or empty target holds nothing: the usual restore lists no folder (561 listings took
  // about 0.1 s of the benchmark's restore, before any file was written).
  const top = await readdir(target).catch((error: NodeJS.ErrnoException) =>
    error.code === 'ENOENT' ? [] : undefined,
  );
  if (top?.length === 0) return [];
  const listings = new Map<string, Promise<Set<string> | undefined>>();
  const existing: string[] = [];
  for (const p of files) {
    const path = join(target, p.path);
    const folder = dirname(path);
    let listing = listings.get(folder);
    if (!listing) {
      listing = readdir(folder).then(
        (names) => new Set(names),
        (error: NodeJS.ErrnoException) =>
          error.code === 'ENOENT' || error.code === 'ENOTDIR' ? new Set<string>() : undefined,
      );
      listings.set(folder, listing);
    }
    const names = await listing;
    const exists = names
      ? names.has(basename(path))
      : await lstat(path).then(
          () => true,
          () => false,
        );
    if (exists) existing.push(path);
  }
  return existing;
}

/** Bytes one ranged read covers when restoring single-blob files in pack order. */
const BATCH_SPAN = 1024 * 1024;
/**
 * Such ranged reads in flight: one being read while each of two workers decodes and writes
 * another (each holds only its stored bytes here).
 */
const BATCHES_IN_FLIGHT = 3;

/**
 * How a codec worker restores a file whose whole content is one blob: checked against the
 * file's size and SHA-256, written under a temporary name, then renamed into place. Its folder
 * is made here first when the plan did not make it.
 */
async function _smallFile(
  p: Planned,
  target: string,
  made: ReadonlySet<string>,
  overwrite: boolean,
): Promise<RestoreFile> {
  const path = join(target, p.path);
  if (!made.has(dirname(path))) await mkdir(dirname(path), { recursive: true });
  return {
    path,
    temp: _tempName(path),
    mode: p.node.mode,
    time: _time(p.node.mtime),
    overwrite,
    what: p.path,
    ...(p.node.size !== undefined ? { size: p.node.size } : {}),
    ...(p.node.sha256 !== undefined ? { sha256: p.node.sha256 } : {}),
  };
}

/**
 * Plaintext bytes of blobs read ahead across all files being restored. Each blob read ahead holds
 * a slot of the codec pool, whose pages stay resident once touched: with files written past the
 * page cache, 8 MiB kept more slots busy and the peak RSS of the benchmark's restore rose to
 * 244-258 MB (231-246 MB alone, against 220-233 with 6 MiB, 215-220 with 4). 4 MiB cost 0.4 s
 * of 5.3; 6 MiB about 0.3 s in 3 of 4 pairs and nothing in the others.
 */
const RESTORE_BUDGET = 6 * 1024 * 1024;

/**
 * Files from this size on are written past the page cache (util/direct-writes.ts): below it,
 * padding to whole blocks and a device write per file cost more than the page cache does.
 */
const DIRECT_FROM = 1024 * 1024;

async function _restoreEntry(
  repo: OpenRepository,
  p: Planned,
  path: string,
  overwrite: boolean,
  write: { budget: ByteBudget; direct: DirectWrites; signal?: AbortSignal },
): Promise<void> {
  const { budget, signal } = write;
  const time = _time(p.node.mtime);
  if (overwrite) await rm(path, { force: true });
  if (p.node.type === 'symlink') {
    await symlink(p.node.linkTarget ?? '', path);
    await lutimes(path, time, time).catch(() => undefined); // not every file system keeps link times
    return;
  }
  const temp = _tempName(path);
  const stored = { content: p.node.content ?? [], sha256: p.node.sha256, size: p.node.size };
  try {
    const direct =
      (p.node.size ?? 0) >= DIRECT_FROM ? await write.direct.create(temp, 0o600) : undefined;
    if (direct) {
      try {
        // Verified blob by blob, and against the file's SHA-256, before the rename below.
        await writeContent(repo, stored, direct, { budget, signal, what: p.path });
      } catch (error) {
        await direct.abort();
        throw error;
      }
      await direct.finish();
    } else {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await writeContent(repo, stored, handle, { budget, signal, what: p.path });
      } finally {
        await handle.close();
      }
    }
    await chmod(temp, p.node.mode);
    await utimes(temp, time, time);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * A temporary name beside `path` for the file being restored there: unique within this process
 * by a counter, across processes by the pid and a random part drawn once (a restore creates its
 * files exclusively, so a clash fails loudly rather than overwriting).
 */
function _tempName(path: string): string {
  return join(dirname(path), `.${_TEMP_PREFIX}${(tempCount++).toString(36)}.hbr-restore`);
}

const _TEMP_PREFIX = `${process.pid.toString(36)}-${randomBytes(4).toString('hex')}-`;
let tempCount = 0;

/** Nanoseconds since the epoch (string) → seconds with fraction, as utimes takes. */
function _time(ns: string): number {
  return Number(BigInt(ns) / 1000n) / 1e6;
}

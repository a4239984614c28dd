/**
 * Restores a files backup, or the parts of it under `include` paths, into a target folder. Each
 * file is written under a temporary name and renamed into place only after its content hash
 * verified, so a failed file is absent, never torn, and a file it replaces (`overwrite`) stays
 * as it was. Existing files are refused unless `overwrite`. In a target that held something,
 * nothing already there is followed: a symbolic link or a file where the backup has a folder is
 * refused (replaced with `overwrite`), so no write lands outside the target. Metadata (owner and
 * group when running as root, mode, mtime) is set after content; folders last, deepest first. A
 * setuid or setgid bit is restored only with the owner it was stored with. Files that were hard
 * links of one file are restored as links again (hard-links.ts), among the files restored.
 * @module
 */
import { execFile } from 'node:child_process';
import {
  chmod,
  lchown,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat,
  symlink,
  type FileHandle,
} from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { NotInBackupError, UsageError } from '../../errors.ts';
import { findLeftoverTemps, tempName } from './temp-names.ts';
import { createLinkGroups, makeLinks, mayBeLinked } from './hard-links.ts';
import { fileIdentity } from '../../util/file-identity.ts';
import { createDirectWrites, type DirectWrites } from '../../util/direct-writes.ts';
import { skippingZeroBlocks } from './sparse-writer.ts';
import {
  addToCodedSample,
  addToSample,
  emptyCodedSample,
  emptySample,
  sampleText,
  type CodedSample,
  type Sample,
} from '../../util/sample.ts';
import { settleAll } from '../../util/settle-all.ts';
import { tracePhase } from '../../util/trace.ts';
import { writeFully } from '../../util/write-fully.ts';
import { ownerRefusal, SETID_BITS } from '../../util/owner-refusal.ts';
import { readsInFlight } from '../../stores/reads-in-flight.ts';
import {
  createByteBudget,
  createTreeReader,
  planBatches,
  restoreBatch,
  sharedBuffer,
  codecWorkerCount,
  writeContents,
  type BatchBlob,
  type BackupRecord,
  type ByteBudget,
  type OpenRepository,
  type PositionalWriter,
  type RestoreFile,
  type TreeNode,
  type FolderAhead,
  type TreeReader,
} from '../../repository/index.ts';

export interface FilesRestoreOptions {
  readonly repo: OpenRepository;
  readonly backup: BackupRecord;
  /** Folder to restore into; backed-up absolute paths are recreated below it. */
  readonly target: string;
  /** Paths inside the backup (as `hbr ls` shows them) to restore; all when empty. */
  readonly include?: readonly string[];
  readonly overwrite?: boolean;
  /**
   * Give entries their stored owner and group, and so their setuid and setgid bits: only root
   * can. Else an entry keeps its setuid bit when stored as the restorer's, and is given its
   * group (with its setgid bit) when that is one of the restorer's; bits that cannot be given
   * back (and those of entries stored without owners) are left out and counted.
   * @default process.geteuid() === 0
   */
  readonly owners?: boolean;
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
  /** Entries restored without their setuid or setgid bit, their owner not being restored. */
  readonly setidNotRestored: number;
  /**
   * Files named as a restore's temporary files, not this one's, found in the folders restored
   * into (see temp-names.ts: left for the user to remove): how many, and the first few.
   */
  readonly leftoverTemps: Sample;
  /**
   * Entries restored without their owner, which this file system or user namespace cannot hold
   * (util/owner-refusal.ts), and so without setuid and setgid bits: how many, the `chown` error
   * codes, and the first few paths.
   */
  readonly ownersNotSet: CodedSample;
  /**
   * Files restored as hard links of another file restored (counted in `files` and `bytes` too):
   * files that were links of one file when backed up.
   */
  readonly hardLinks: number;
  /**
   * Files that were links of a file restored but were not linked to it, restored from their
   * content instead: how many, why (the `link` error codes of a file system that would not link
   * them, EXDEV, EMLINK, EPERM…, or `not the file restored`: see hard-links.ts), and the first
   * few paths.
   */
  readonly linksNotMade: CodedSample;
}

interface Planned {
  readonly path: string;
  readonly node: TreeNode;
}

/**
 * Restores files.
 *
 * The backup's trees are read as the files are restored, a window of files at a time, so memory
 * does not grow with the number of files: planning all 20,000 of the benchmark's files first
 * held ~25 MB of objects until the end. What must hold before anything is written (includes that
 * name something, no file to overwrite) is found by a first walk, made only when it can fail.
 * @throws NotInBackupError when an include path is not in the backup; UsageError when files exist
 * without `overwrite`.
 */
export async function restoreFiles(options: FilesRestoreOptions): Promise<FilesRestoreResult> {
  const { repo, target, signal } = options;
  const named = (options.include ?? []).map((p) => `/${p.split('/').filter(Boolean).join('/')}`);
  // `/` names the whole backup, as `hbr ls` shows it.
  const include = named.includes('/') ? [] : named;
  const overwrite = Boolean(options.overwrite);
  const owners: _Owners = {
    all: options.owners ?? process.geteuid?.() === 0,
    uid: process.geteuid?.() ?? -1,
    groups: new Set([process.getegid?.() ?? -1, ...(process.getgroups?.() ?? [])]),
  };
  const walk = (lost: (path: string, error: Error) => void): AsyncGenerator<Planned> =>
    _walk(createTreeReader(repo, signal), options.backup.tree, '', include, lost, signal);

  await _refuseFileTarget(target);
  const { summary } = options.backup;
  let totals = { totalFiles: summary.files, totalBytes: summary.bytes };
  // Into a missing or empty folder nothing can be overwritten or in the way: no file needs
  // looking up, and no folder either.
  const fresh = await _isEmpty(target);
  const clashing = !overwrite && !fresh;
  if (include.length > 0 || clashing)
    totals = await _preflight(walk, target, include, clashing, options.backup.shortId);
  tracePhase('restore checked');

  await mkdir(target, { recursive: true });
  const progress = { files: 0, bytes: 0, ...totals };
  const errors: { path: string; message: string }[] = [];
  let setidNotRestored = 0;
  const leftoverTemps = emptySample();
  const ownersNotSet = emptyCodedSample();
  const ownerNotSet = (path: string, code: string): void =>
    addToCodedSample(ownersNotSet, path, code);
  /** Notes what an interrupted restore left in `folder`, which held something before. */
  const sweep = async (folder: string): Promise<void> => {
    for (const path of await findLeftoverTemps(folder)) addToSample(leftoverTemps, path);
  };
  // Bytes written to files not yet restored: a large file shows its progress as it is written.
  let writing = 0;
  const report = (): void => options.onProgress?.({ ...progress, bytes: progress.bytes + writing });
  const restored = (p: Planned): void => {
    if (_access(p.node, owners).setidLeftOut) setidNotRestored++;
    progress.files++;
    progress.bytes += p.node.size ?? 0;
    report();
  };
  const failed = (p: { readonly path: string }, error: unknown): void => {
    if (signal?.aborted) throw error;
    errors.push({ path: p.path, message: (error as Error).message });
  };
  if (!fresh) await sweep(target);

  const index = await repo.index({ signal });
  // Files at once: enough to hide per-file system calls; the byte budget bounds their memory.
  const limit = pLimit(8);
  const atWorkers = BATCHES_PER_WORKER * codecWorkerCount();
  // Ranged reads in flight: from a remote store, one per connection, each waiting a round trip.
  const localReads = atWorkers + BATCHES_READ_AHEAD;
  const reads = readsInFlight(repo.store, localReads);
  const budget = createByteBudget(RESTORE_BUDGET + (reads - localReads) * REMOTE_READ_BUDGET);
  // 8 MiB of aligned memory: a large file takes a piece as it is created (none free: through the
  // page cache), another while one is free. A device write takes a fraction of the time a piece
  // takes to decode.
  const direct = createDirectWrites({ pieces: 8, perFile: 2 });
  const batchLimit = pLimit(reads);
  const decode = pLimit(atWorkers);
  // Shared memory for the ranged reads, one per read in flight from a local store, reused: with
  // fresh memory for each (1 MiB, freed by a worker), the main thread's malloc heap ended at 33 MB,
  // in fragments, in a restore of the benchmark at scale 1 and at 15 MB at scale 0.25; at 5 MB
  // either way so. A remote store reads into fresh memory anyway.
  const readInto = Array.from({ length: localReads }, () => sharedBuffer(BATCH_SPAN));
  const made = new Set([target]);
  const flow = _flow(FILES_AHEAD);
  // The identity of each file restored that may be a hard link's leader, as it was written: what
  // its links are made links of (hard-links.ts).
  const identities = new Map<string, string>();
  const identified = (path: string, identity: string): void => void identities.set(path, identity);
  const write = {
    budget,
    direct,
    owners,
    ownerNotSet,
    identified,
    // Taken back without a report: the files' whole sizes are counted next, or they failed.
    writing: (bytes: number): void => {
      writing += bytes;
      if (bytes > 0) report();
    },
    ...(signal ? { signal } : {}),
  };
  /**
   * Where an entry goes, its folder made. What is there (with `overwrite`) stays until the
   * entry's rename replaces it.
   */
  const placed = async (p: Planned): Promise<string> => {
    const path = join(target, p.path);
    if (!made.has(dirname(path))) await mkdir(dirname(path), { recursive: true });
    return path;
  };

  /** Restores a window of files: those of one blob in pack order, many per ranged read. */
  const restoreWindow = (window: readonly Planned[]): Promise<void> => {
    const single = new Map<string, { blob: BatchBlob; files: Planned[] }>();
    const others: Planned[] = [];
    for (const p of window) {
      // A sparse file is written by _restoreFilesTogether, which leaves its holes: the codec
      // workers write a single blob whole.
      const oneBlob = p.node.type === 'file' && p.node.content?.length === 1 && !p.node.sparse;
      const hex = oneBlob ? p.node.content?.[0] : '';
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
    const batches = planBatches(
      [...single.values()].map((g) => g.blob),
      BATCH_SPAN,
    ).map((batch) =>
      batchLimit(async () => {
        const planned = batch.map((b) => single.get(b.id.toString('hex'))?.files ?? []);
        try {
          signal?.throwIfAborted();
          const files = await Promise.all(
            planned.map((group) =>
              Promise.all(group.map(async (p) => _smallFile(p, await placed(p), owners))),
            ),
          );
          const into = readInto.pop();
          const results = await restoreBatch(repo, batch, files, { signal, into, decode }).finally(
            () => into && readInto.push(into),
          );
          planned.forEach((group, i) =>
            group.forEach((p, j) => {
              const result = results[i]?.[j];
              if (result instanceof Error) return failed(p, result);
              if (result?.ownerNotSet !== undefined) ownerNotSet(p.path, result.ownerNotSet);
              if (result?.identity !== undefined) identified(p.path, result.identity);
              restored(p);
            }),
          );
        } finally {
          flow.done(planned.reduce((n, group) => n + group.length, 0));
        }
      }),
    );
    const one = async (p: Planned): Promise<void> => {
      try {
        signal?.throwIfAborted();
        await _restoreEntry(repo, p, await placed(p), write);
        restored(p);
      } catch (error) {
        failed(p, error);
      }
    };
    const rest = _sharingGroups(others).map((group) =>
      limit(async () => {
        try {
          if (group.length === 1) return await one(group[0] as Planned);
          try {
            signal?.throwIfAborted();
            const files: { p: Planned; path: string }[] = [];
            for (const p of group) files.push({ p, path: await placed(p) });
            await _restoreFilesTogether(repo, files, write);
            group.forEach(restored);
          } catch (error) {
            // Each file on its own then, for its own verdict (one blob may fail one file only).
            if (signal?.aborted) return group.forEach((p) => failed(p, error));
            for (const p of group) await one(p);
          }
        } finally {
          flow.done(group.length);
        }
      }),
    );
    // Settled only once every file of it is: an abort must not leave one writing.
    return settleAll([...batches, ...rest]).then(() => undefined);
  };

  const dirs: { path: string; what: string; node: TreeNode }[] = [];
  // Later links of a file met before are held, and linked once the files before them are restored.
  const links = createLinkGroups();
  const windows: Promise<void>[] = [];
  // The first error that stops the restore (an abort).
  let stopped: { reason: unknown } | undefined;
  let hardLinks = 0;
  const linksNotMade = emptyCodedSample();
  /**
   * Links the followers held to their leaders, every window started being restored first (a
   * leader is in one of them); those that cannot be linked are restored from their content. Then
   * what is kept of each leader whose links were all met goes.
   * @throws only when aborted
   */
  const linkHeld = async (): Promise<void> => {
    const { followers, complete } = links.take();
    if (followers.length === 0 && complete.length === 0) return;
    await Promise.allSettled(windows.splice(0));
    if (stopped) throw stopped.reason;
    const fromContent = await makeLinks(followers, {
      target,
      place: placed,
      failedPaths: new Set(errors.map((e) => e.path)),
      identities,
      limit,
      signal,
      linked: (p) => {
        hardLinks++;
        restored(p);
      },
      failed,
      notLinked: (p, code) => addToCodedSample(linksNotMade, p.path, code),
    });
    // As copies, as every other file before them was restored.
    for (let i = 0; i < fromContent.length; i += WINDOW_FILES) {
      const window = fromContent.slice(i, i + WINDOW_FILES);
      flow.add(window.length);
      await restoreWindow(window);
    }
    for (const leader of complete) identities.delete(leader);
  };
  // A folder that could not be made, while the walk is below it (depth first: all it holds comes
  // next): its files fail, each reported, and the rest is restored.
  let unmade: string | undefined;
  const start = (window: readonly Planned[]): void => {
    const restoring = restoreWindow(window);
    restoring.catch((reason: unknown) => (stopped ??= { reason }));
    windows.push(restoring);
  };
  try {
    let window: Planned[] = [];
    // A folder that cannot be read fails like a file that cannot: the rest is restored.
    const lost = (path: string, error: Error): void => failed({ path }, error);
    for await (const p of walk(lost)) {
      if (stopped) break;
      if (unmade !== undefined && p.path.startsWith(`${unmade}/`)) {
        if (p.node.type !== 'dir') failed(p, new Error(`its folder ${unmade} could not be made`));
        continue;
      }
      unmade = undefined;
      if (p.node.type === 'dir') {
        const path = join(target, p.path);
        try {
          if (fresh) await mkdir(path, { recursive: true, mode: 0o700 });
          else if (await _folderInPlace(path, overwrite)) await sweep(path);
        } catch (error) {
          failed({ path: `${p.path}/` }, error);
          unmade = p.path;
          continue;
        }
        made.add(path);
        dirs.push({ path, what: p.path, node: p.node });
        continue;
      }
      if (links.hold(p)) {
        // A window's worth at most, so that a restore of many links keeps its memory flat.
        if (links.followers.length < WINDOW_FILES) continue;
        start(window);
        window = [];
        await linkHeld();
        continue;
      }
      window.push(p);
      flow.add(1);
      if (window.length === WINDOW_FILES) {
        start(window);
        window = [];
        await flow.room();
      }
    }
    if (!stopped) start(window);
    // Before the folders' metadata: a link made in a folder changes its mtime.
    if (!stopped) await linkHeld();
  } catch (reason) {
    stopped ??= { reason };
  }
  // Nothing may go on writing once this returns.
  await Promise.allSettled(windows);
  if (stopped) throw stopped.reason;
  tracePhase('files restored');
  // Folder metadata last, since writing into a folder changes its mtime; a level at a time,
  // deepest first (a folder's mode may bar the way to those below it), each level's folders at
  // once: one after another, the benchmark's 555 folders took 50 ms.
  const levels = new Map<number, typeof dirs>();
  for (const d of dirs) {
    const depth = d.path.split(sep).length;
    const level = levels.get(depth) ?? [];
    level.push(d);
    levels.set(depth, level);
  }
  for (const depth of [...levels.keys()].sort((a, b) => b - a)) {
    await settleAll(
      (levels.get(depth) ?? []).map((d) =>
        limit(async () => {
          try {
            // Through a descriptor of the folder itself, never a link someone put in its place
            // since it was made (a root restore gave a root file to the folder's owner).
            const folder = await open(d.path, _FOLDER_FLAGS);
            try {
              const refused = await _setAccess(folder, d.node, owners);
              if (refused) ownerNotSet(`${d.what}/`, refused);
            } finally {
              await folder.close();
            }
            if (_access(d.node, owners).setidLeftOut) setidNotRestored++;
          } catch (error) {
            // Its files are restored: reported like one that is not, the rest goes on.
            failed({ path: `${d.what}/` }, error);
          }
        }),
      ),
    );
  }
  return {
    files: progress.files,
    dirs: dirs.length,
    bytes: progress.bytes,
    errors,
    setidNotRestored,
    leftoverTemps,
    ownersNotSet,
    hardLinks,
    linksNotMade,
  };
}

// --- internal ---

/**
 * Files restored in one window: their blobs sorted into ranged reads. A window spans a few packs
 * of small files (1,024 of the benchmark's are ~19 MB), so one ranged read in a thousand is cut
 * short at its end.
 */
const WINDOW_FILES = 1024;

/**
 * Files the walk may plan ahead of those restored: enough that a window is always ready while
 * others are restored (a large file holds its place for long), few enough to keep memory flat.
 */
const FILES_AHEAD = 4 * WINDOW_FILES;

/**
 * The backup's entries under `include` (all when empty) and the folders above them, depth first
 * in tree order, each folder before what it holds. A folder's subfolders' trees are read while
 * the walk goes through it (tree-reader.ts), and not cached: a restore reads each once. What
 * cannot be restored is passed to `lost` (as the restore reports it) and the walk goes on beside
 * it: a folder whose tree cannot be read (`/path/`), a name its folder's tree holds twice (all of
 * its nodes). The backup's root tree must be read.
 */
async function* _walk(
  trees: TreeReader,
  tree: string,
  prefix: string,
  include: readonly string[],
  lost: (path: string, error: Error) => void,
  signal: AbortSignal | undefined,
): AsyncGenerator<Planned> {
  let nodes: TreeNode[];
  try {
    nodes = await trees.read(tree, {
      onDuplicate: (name) =>
        lost(
          `${prefix}/${name}`,
          new Error('stored twice in its folder (which is right is unknown): not restored'),
        ),
    });
  } catch (error) {
    if (prefix === '' || signal?.aborted) throw error;
    lost(`${prefix}/`, new Error(`folder unreadable: ${(error as Error).message}`));
    return;
  }
  const entered = _entered(nodes, prefix, include);
  // The folders' trees are read while the walk goes through what comes before them, and those of
  // the folders inside them as they arrive.
  trees.ahead(_foldersAhead(entered, include));
  for (const { path, node } of entered) {
    yield { path, node };
    if (node.type === 'dir' && node.subtree)
      yield* _walk(trees, node.subtree, path, include, lost, signal);
  }
}

/**
 * Those of the `nodes` of the folder at `prefix` that the walk enters: all, or those on the way to
 * or in `include`.
 */
function _entered(
  nodes: readonly TreeNode[],
  prefix: string,
  include: readonly string[],
): Planned[] {
  return nodes.flatMap((node) => {
    const path = `${prefix}/${node.name}`;
    const inside =
      include.length === 0 || include.some((i) => path === i || path.startsWith(`${i}/`));
    const above = include.some((i) => i.startsWith(`${path}/`));
    return inside || above ? [{ path, node }] : [];
  });
}

/** The folders among `entered` whose trees the walk reads, and below each, those it enters. */
function _foldersAhead(entered: readonly Planned[], include: readonly string[]): FolderAhead[] {
  return entered.flatMap(({ path, node }) =>
    node.type === 'dir' && node.subtree
      ? [
          {
            id: node.subtree,
            inside: (nodes) => _foldersAhead(_entered(nodes, path, include), include),
          },
        ]
      : [],
  );
}

/**
 * The first walk, before anything is written: every include must name something in the backup,
 * and when `clashing` (no `overwrite`, and `target` holds something) no file to restore may exist
 * under `target`, nor anything but a folder where a folder goes (a file, or a symbolic link that
 * would lead the restore elsewhere). Into an empty folder the lookups are skipped: a restore of
 * one folder of the benchmark's, 20,200 files in 560 folders, listed every folder it would make
 * first.
 * @returns the files and bytes to restore, for progress.
 * @throws UsageError as {@link restoreFiles} does.
 */
async function _preflight(
  walk: (lost: (path: string) => void) => AsyncIterable<Planned>,
  target: string,
  include: readonly string[],
  clashing: boolean,
  backup: string,
): Promise<{ totalFiles: number; totalBytes: number }> {
  const matched = new Set<string>();
  const existing = clashing ? _existingFiles() : undefined;
  let totalFiles = 0;
  let totalBytes = 0;
  // Left to the restore to report; an include at or below such a path cannot be told missing.
  const lost: string[] = [];
  for await (const p of walk((path) => lost.push(path))) {
    if (include.includes(p.path)) matched.add(p.path);
    const folder = p.node.type === 'dir';
    await existing?.look(join(target, p.path), folder);
    if (folder) continue;
    totalFiles++;
    totalBytes += p.node.size ?? 0;
  }
  const missing = include.filter(
    (i) => !matched.has(i) && !lost.some((u) => `${i}/`.startsWith(u.endsWith('/') ? u : `${u}/`)),
  );
  if (missing.length > 0) throw new NotInBackupError(backup, missing);
  if (existing && existing.unknown.count > 0) {
    // Taken for absent, such a file was replaced: the restore makes its folder searchable.
    throw new UsageError(
      `refusing to restore over ${existing.unknown.count} file(s) that cannot be checked (${sampleText(existing.unknown, '; ')}); use --overwrite`,
    );
  }
  if (existing && existing.found.count > 0) {
    throw new UsageError(
      `refusing to overwrite ${existing.found.count} existing file(s) (${sampleText(existing.found)}); use --overwrite`,
    );
  }
  return { totalFiles, totalBytes };
}

/** Whether `target` is missing or an empty folder: the usual restore, which nothing can clash with. */
/**
 * Refuses a target that is a file, or lies below one, before the backup is walked: else the
 * restore failed only at the end of that walk, on mkdir's bare `EEXIST` or `ENOTDIR`.
 * @throws UsageError
 */
async function _refuseFileTarget(target: string): Promise<void> {
  const found = await stat(target).catch((error: NodeJS.ErrnoException) => error.code);
  if (found === 'ENOTDIR')
    throw new UsageError(`restore target ${target}: a file stands on its path, not a folder`);
  if (typeof found === 'object' && !found.isDirectory())
    throw new UsageError(`restore target ${target} is a file, not a folder`);
}

async function _isEmpty(target: string): Promise<boolean> {
  const names = await readdir(target).catch((error: NodeJS.ErrnoException) =>
    error.code === 'ENOENT' ? [] : undefined,
  );
  return names?.length === 0;
}

/**
 * Finds which of the paths looked at already exist, by listing each of their folders once rather
 * than by one `lstat` per file (each a trip to the libuv pool: 20,000 of them took about a second
 * before a restore of the benchmark began). A folder that is missing or no folder holds nothing;
 * one that cannot be listed has its files looked up one by one. Only the listing of the folder
 * being looked in is kept: one the walk comes back to from a subfolder is listed again. Where a
 * `folder` goes, a folder already there is no clash (an `lstat`: a link to one is). Only ENOENT
 * and ENOTDIR tell a path absent: one that cannot be looked up (EACCES in a folder without
 * search permission) may well exist.
 */
function _existingFiles(): {
  look(path: string, folder: boolean): Promise<void>;
  /** Those that exist. */
  readonly found: Readonly<Sample>;
  /** Those that could not be looked up, each with why. */
  readonly unknown: Readonly<Sample>;
} {
  const found = emptySample();
  const unknown = emptySample();
  const present = (path: string): Promise<Stats | undefined> =>
    lstat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      addToSample(unknown, `${path}: ${error.code ?? error.message}`);
      return undefined;
    });
  let folder = '';
  let listing: Set<string> | undefined;
  return {
    found,
    unknown,
    async look(path, isFolder) {
      if (dirname(path) !== folder) {
        folder = dirname(path);
        listing = await readdir(folder).then(
          (names) => new Set(names),
          (error: NodeJS.ErrnoException) =>
            error.code === 'ENOENT' || error.code === 'ENOTDIR' ? new Set<string>() : undefined,
        );
      }
      const stats = listing
        ? listing.has(basename(path)) && (await present(path))
        : await present(path);
      if (!stats || (isFolder && stats.isDirectory())) return;
      addToSample(found, path);
    },
  };
}

/**
 * Counts the files planned ahead of those restored, and holds the walk while there are `ahead`
 * of them.
 */
function _flow(ahead: number): {
  add(n: number): void;
  done(n: number): void;
  room(): Promise<void>;
} {
  let planned = 0;
  let wake: (() => void) | undefined;
  return {
    add(n) {
      planned += n;
    },
    done(n) {
      planned -= n;
      if (planned < ahead) wake?.();
    },
    room() {
      if (planned < ahead) return Promise.resolve();
      return new Promise((resolve) => {
        wake = () => {
          wake = undefined;
          resolve();
        };
      });
    },
  };
}

/** Bytes one ranged read covers when restoring single-blob files in pack order. */
const BATCH_SPAN = 1024 * 1024;
/**
 * Such ranged reads at each codec worker, one decoded and written while the next waits: a worker
 * done with a batch starts the next without waiting for the main thread's turn. With 3 reads in
 * flight in all (one read, one at each of two workers), the workers were idle a quarter of a
 * restore of the benchmark's artifacts (`--cpu-prof`), a batch of a few files done before the
 * next was read and handed over.
 */
const BATCHES_PER_WORKER = 2;
/**
 * Ranged reads in flight besides those at the workers. The benchmark's artifacts, alternating,
 * from a dropped page cache (2026-12-07, AMD EPYC): 4 at the workers and 2 reading ahead were
 * faster than 3 in all in 11 of 12 pairs (3.24-3.69 s against 3.37-3.72), and the whole restore
 * in 6 of 6 (4.96-6.73 s against 5.03-7.17) at the same peak RSS (220-233 MB against 219-238); 4
 * in all, in 6 of 12; 8 in all without the limit at the workers, in 11 of 12 but 15-25 MB more
 * peak RSS (237-251 MB); 2 at the workers and 2 reading ahead, slower in 8 of 12.
 */
const BATCHES_READ_AHEAD = 2;

/**
 * How a codec worker restores a file whose whole content is one blob: checked against the
 * file's size and SHA-256, written under a temporary name, then renamed into place at `path`
 * (its folder made).
 */
function _smallFile(p: Planned, path: string, owners: _Owners): RestoreFile {
  const { mode, owner } = _access(p.node, owners);
  return {
    path,
    temp: tempName(path),
    mode,
    ...(owner ? { owner } : {}),
    time: _time(p.node.mtime),
    what: p.path,
    ...(p.node.size !== undefined ? { size: p.node.size } : {}),
    ...(p.node.sha256 !== undefined ? { sha256: p.node.sha256 } : {}),
    ...(mayBeLinked(p.node) ? { identify: true } : {}),
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
 * Budget added for each read in flight that a remote store's round trips add (see
 * `readsInFlight`): behind 100 ms of added latency, with 16 connections, a restore of the
 * benchmark's data at scale 0.25 took 10.4-10.6 s with 2 MiB each and 11.3-11.5 s with 1 MiB
 * (its blobs are about 1 MiB: with one each, reads waited for the budget); behind 30 ms, the same.
 */
const REMOTE_READ_BUDGET = 2 * 1024 * 1024;

/**
 * The window's entries restored one by one, or together when regular files share blobs (most of
 * a model and its fine-tuned copy: `writeContents` then decodes their shared blobs once). A file
 * joins the first group sharing at least {@link SHARED_ENOUGH} of its blobs, up to
 * {@link GROUP_MAX} files; folders of unrelated files stay apart.
 */
function _sharingGroups(entries: readonly Planned[]): Planned[][] {
  const groups: Planned[][] = [];
  const groupOf = new Map<string, number>();
  for (const p of entries) {
    const content = p.node.type === 'file' ? (p.node.content ?? []) : [];
    const counts = new Map<number, number>();
    for (const hex of content) {
      const g = groupOf.get(hex);
      if (g !== undefined) counts.set(g, (counts.get(g) ?? 0) + 1);
    }
    const joined = [...counts].find(
      ([g, n]) => n >= content.length * SHARED_ENOUGH && (groups[g]?.length ?? 0) < GROUP_MAX,
    );
    const g = joined ? joined[0] : groups.push([]) - 1;
    groups[g]?.push(p);
    for (const hex of content) if (!groupOf.has(hex)) groupOf.set(hex, g);
  }
  return groups;
}

/** The share of a file's blobs another file must hold for the two to be restored together. */
const SHARED_ENOUGH = 0.25;
/** Files restored together at most. */
const GROUP_MAX = 4;

/**
 * Files from this size on are written past the page cache (util/direct-writes.ts): below it,
 * padding to whole blocks and a device write per file cost more than the page cache does.
 */
const DIRECT_FROM = 1024 * 1024;

/** Restores an entry to `path`, replacing what is there (only with `overwrite`: see the checks). */
async function _restoreEntry(
  repo: OpenRepository,
  p: Planned,
  path: string,
  write: _Writing,
): Promise<void> {
  if (p.node.type !== 'symlink' && p.node.type !== 'fifo')
    return _restoreFilesTogether(repo, [{ p, path }], write);
  // Made aside and renamed into place, as files are: what it replaces stays until then.
  const temp = tempName(path);
  const time = _time(p.node.mtime);
  if (p.node.type === 'fifo') await _makeFifo(temp);
  else await symlink(p.node.linkTarget ?? '', temp);
  try {
    if (p.node.type === 'fifo') {
      // Through a descriptor of the FIFO made, never a link put in its place since (without
      // O_NONBLOCK, opening a FIFO waits for a writer).
      const fifo = await open(temp, _FIFO_FLAGS);
      try {
        const refused = await _setAccess(fifo, p.node, write.owners);
        if (refused) write.ownerNotSet(p.path, refused);
      } finally {
        await fifo.close();
      }
    } else {
      const { owner } = _access(p.node, write.owners);
      if (owner)
        await lchown(temp, owner.uid, owner.gid).catch((error: unknown) =>
          write.ownerNotSet(p.path, ownerRefusal(error)),
        );
      await lutimes(temp, time, time).catch(() => undefined); // not every file system keeps link times
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Makes a FIFO at `path` with mkfifo(1): Node.js has no call for it. */
async function _makeFifo(path: string): Promise<void> {
  await promisify(execFile)('mkfifo', ['-m', '600', '--', path]);
}

/**
 * Makes the folder `path` in a target that held something before, following nothing already
 * there: a folder is kept, and made writable and searchable for its owner until the folders' own
 * modes are set at the end (an earlier restore may have left it read-only); a file or symbolic
 * link in its place is removed with `overwrite` (never what a link points to), else refused.
 * @returns whether a folder was there already.
 * @throws UsageError when something else is in the way without `overwrite`.
 */
async function _folderInPlace(path: string, overwrite: boolean): Promise<boolean> {
  const found = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (found?.isDirectory()) {
    if ((found.mode & 0o700) !== 0o700) await chmod(path, (found.mode & 0o7777) | 0o700);
    return true;
  }
  if (found) {
    // The first walk refused it; it came since.
    if (!overwrite)
      throw new UsageError(`refusing to replace ${path} with a folder; use --overwrite`);
    await rm(path);
  }
  await mkdir(path, { mode: 0o700 });
  return false;
}

/** What restoring a file's content shares with the others being restored. */
interface _Writing {
  readonly budget: ByteBudget;
  readonly direct: DirectWrites;
  /** Which owners are given back (see {@link FilesRestoreOptions.owners}). */
  readonly owners: _Owners;
  /** Notes an entry restored without its owner, with the `chown` error's code. */
  readonly ownerNotSet: (path: string, code: string) => void;
  /** Notes the identity of a file that may be a hard link's leader, from its descriptor. */
  readonly identified: (path: string, identity: string) => void;
  /**
   * Told the bytes written to files not yet restored as they are written, and, taken back (a
   * negative count), when those files are restored or fail.
   */
  readonly writing: (bytes: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * Restores regular files (their folders made, nothing in their way) by writing their content
 * together (`writeContents`: a blob they share is decoded once), each under a temporary name
 * renamed into place once all are written and verified. On failure the temporary files are
 * removed; a file renamed into place before is whole.
 */
async function _restoreFilesTogether(
  repo: OpenRepository,
  files: readonly { p: Planned; path: string }[],
  write: _Writing,
): Promise<void> {
  const { budget, signal } = write;
  const opened: { p: Planned; path: string; temp: string; out: _TempOut }[] = [];
  // Bytes written so far, shown as progress until the files are counted whole, or fail.
  let written = 0;
  try {
    for (const { path, p } of files) {
      const temp = tempName(path);
      opened.push({ p, path, temp, out: await _openTemp(temp, p.node, write.direct) });
    }
    const streams = opened.map(({ p, out }) => ({
      stored: { content: p.node.content ?? [], sha256: p.node.sha256, size: p.node.size },
      out: out.writer,
      what: p.path,
    }));
    // Verified blob by blob, and against each file's SHA-256, before the renames below.
    const onWritten = (bytes: number): void => {
      written += bytes;
      write.writing(bytes);
    };
    await writeContents(repo, streams, { budget, onWritten, ...(signal ? { signal } : {}) });
    for (const { p, path, temp, out } of opened) {
      // Through the descriptor written, before it is closed: by its path, a link put in its
      // place since would be followed (a root restore gave a root file to nobody).
      let refused: string | undefined;
      let identity: string | undefined;
      await out.finish(async (handle) => {
        refused = await _setAccess(handle, p.node, write.owners);
        if (mayBeLinked(p.node)) identity = fileIdentity(await handle.stat({ bigint: true }));
      });
      await rename(temp, path);
      if (refused) write.ownerNotSet(p.path, refused);
      if (identity !== undefined) write.identified(p.path, identity);
    }
  } catch (error) {
    for (const { temp, out } of opened) {
      await out.abort();
      await rm(temp, { force: true });
    }
    throw error;
  } finally {
    write.writing(-written);
  }
}

interface _TempOut {
  readonly writer: PositionalWriter;
  /** Ends the file, `before` given its descriptor just before it is closed. */
  finish(before: (handle: FileHandle) => Promise<void>): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Creates `temp` for the content of the file `node`: past the page cache when large enough and
 * possible; a sparse one through it, its zero blocks left unwritten (holes) and its size set at
 * the end. Past the page cache, bytes are gathered in order into aligned pieces, which a hole
 * would break; the few bytes a sparse file mostly holds cost little through the cache.
 */
async function _openTemp(temp: string, node: TreeNode, direct: DirectWrites): Promise<_TempOut> {
  const size = node.size ?? 0;
  const sparse = node.sparse === true;
  const file = size >= DIRECT_FROM && !sparse ? await direct.create(temp, 0o600) : undefined;
  if (file)
    return { writer: file, finish: (before) => file.finish({ before }), abort: () => file.abort() };
  const handle = await open(temp, 'wx', 0o600);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  const finish = async (before: (handle: FileHandle) => Promise<void>): Promise<void> => {
    try {
      // Before its times are set: a file ending in a hole is short until then.
      if (sparse) await handle.truncate(size);
      await before(handle);
    } finally {
      await close();
    }
  };
  // Every byte or an error: a write cut short (a full disk) would otherwise pass the checks, which
  // count the bytes given, and a file cut short would be renamed into place.
  const writer = {
    write: (buffer: Buffer, offset: number, length: number, position: number) =>
      writeFully(handle, buffer, offset, length, position),
  };
  return {
    writer: sparse ? skippingZeroBlocks(writer) : writer,
    finish,
    abort: () => close().catch(() => undefined),
  };
}

/** Who restores, and so which owners and groups can be given back. */
interface _Owners {
  /** Every owner (root; see {@link FilesRestoreOptions.owners}). */
  readonly all: boolean;
  /** The restorer's effective user id: its entries keep their setuid bit. */
  readonly uid: number;
  /** The restorer's groups: an entry of one is given it (`chown -1 gid`), and its setgid bit. */
  readonly groups: ReadonlySet<number>;
}

/**
 * The mode and owner to give an entry (-1: left as it is). Its setuid and setgid bits only with
 * its stored owner and group: restored by another user (or as root from a node stored without
 * owners), a program that runs as its owner would run as whoever restored it (a root restore
 * made `-rwsr-sr-x root root` of a file of `nobody`'s). An ordinary user gets back what is theirs
 * to give: the setuid bit of an entry stored as theirs, the group (and setgid bit, as of a shared
 * `2775` folder) when it is one of theirs.
 */
function _access(
  node: TreeNode,
  owners: _Owners,
): { mode: number; owner?: { uid: number; gid: number }; setidLeftOut: boolean } {
  const { uid, gid } = node;
  if (uid === undefined || gid === undefined) {
    const setid = node.type !== 'symlink' && (node.mode & _SETID) !== 0;
    return { mode: node.mode & ~_SETID, setidLeftOut: setid };
  }
  if (owners.all) return { mode: node.mode, owner: { uid, gid }, setidLeftOut: false };
  const group = owners.groups.has(gid);
  const kept = (uid === owners.uid ? _SETUID : 0) | (group ? _SETGID : 0);
  const leftOut = node.type !== 'symlink' && (node.mode & _SETID & ~kept) !== 0;
  return {
    mode: node.mode & ~(_SETID & ~kept),
    ...(group ? { owner: { uid: -1, gid } } : {}),
    setidLeftOut: leftOut,
  };
}

const _SETUID = 0o4000;
const _SETGID = 0o2000;

const _SETID = 0o6000;

/**
 * Gives an entry its owner, mode and mtime through a descriptor of it: by path, a link put in
 * its place would be followed. Owner first: a change of owner clears the setuid and setgid bits
 * the mode then sets.
 * @returns the code of the `chown` error when the owner cannot be given here (see
 * util/owner-refusal.ts): the entry is then left to its restorer, without setuid and setgid bits.
 */
async function _setAccess(
  handle: FileHandle,
  node: TreeNode,
  owners: _Owners,
): Promise<string | undefined> {
  const { mode, owner } = _access(node, owners);
  const refused = owner
    ? await handle.chown(owner.uid, owner.gid).then(() => undefined, ownerRefusal)
    : undefined;
  await handle.chmod(refused ? mode & ~SETID_BITS : mode);
  const time = _time(node.mtime);
  await handle.utimes(time, time);
  return refused;
}

/** A folder opened for its metadata: a link in its place is refused (ELOOP), not followed. */
const _FOLDER_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** A FIFO opened for its metadata: without waiting for a writer, and never through a link. */
const _FIFO_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/**
 * Nanoseconds since the epoch (string) → seconds with fraction, as `utimes` takes them: the
 * middle of the microsecond, which is what Node.js keeps (libuv cuts the fraction to whole
 * microseconds, and a value on the microsecond itself, seldom exact in binary, fell a
 * microsecond short about every other time). A decimal string: Node.js takes a negative number
 * (before 1970) for "now", a string as it is.
 */
function _time(ns: string): string {
  const time = BigInt(ns);
  const micros = time / 1000n - (time < 0n && time % 1000n !== 0n ? 1n : 0n); // rounded down
  // libuv cuts toward zero: before 1970, toward the microsecond after.
  return String((Number(micros) + (time < 0n ? -0.5 : 0.5)) / 1e6);
}

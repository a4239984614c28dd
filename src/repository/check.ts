/**
 * `hbr check`: proves the repository is whole. The structural pass opens every index, manifest
 * and tree and checks that every blob a backup needs is indexed and its pack exists at a
 * plausible size. With `readData`, packs (all, or a random subset) are read, hashed against
 * their names, and every blob is decrypted and re-hashed. Damage is reported precisely: which
 * pack, which blobs, and which backups and files depend on them.
 * @module
 */
import pLimit from 'p-limit';
import { IntegrityError, StoreError, type HbrError } from '../errors.ts';
import { favourMemoryOverSpeed } from '../util/heap-sizing.ts';
import { FORGOTTEN_PREFIX, readForgotten } from './forgotten.ts';
import { idKey, type MasterIndex } from './master-index.ts';
import { isPackId, leastPackSize, listStoredPacks, packKey, type PackEntry } from './pack.ts';
import type { OpenRepository } from './repository.ts';
import type { TreeNode } from './tree.ts';
import type { BackupRecord } from './types.ts';
import { createCachedTreeReader, foldersBelow } from './tree-reader.ts';
import { packDamage, verifyPacks } from './verify-packs.ts';

/** One thing found wrong. `severity: 'warning'` does not fail the check. */
export interface CheckProblem {
  readonly kind:
    | 'damaged-index'
    | 'damaged-manifest'
    | 'missing-pack'
    | 'truncated-pack'
    | 'damaged-pack'
    | 'missing-blob'
    | 'damaged-blob'
    | 'damaged-tree'
    | 'unindexed-pack'
    | 'damaged-forgotten'
    | 'misplaced-object';
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly pack?: string;
  readonly blobs?: readonly string[];
}

/** A backup and the paths in it that cannot be restored intact. */
export interface AffectedBackup {
  readonly backup: string;
  readonly source: string;
  readonly paths: readonly string[];
}

export interface CheckReport {
  readonly ok: boolean;
  readonly problems: readonly CheckProblem[];
  readonly affected: readonly AffectedBackup[];
  readonly stats: {
    backups: number;
    packs: number;
    blobs: number;
    packsRead: number;
    bytesRead: number;
  };
}

export interface CheckOptions {
  readonly readData?: boolean;
  /** With `readData`: read this percentage of packs, chosen at random. @default 100 */
  readonly subsetPercent?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number, bytes: number) => void;
}

/** Checks a repository; never throws for damage it finds, only for failures to look. */
export async function checkRepository(
  repo: OpenRepository,
  options: CheckOptions = {},
): Promise<CheckReport> {
  // Every tree of every backup is opened: memory grows with the repository, so size for it.
  favourMemoryOverSpeed();
  const { store } = repo;
  const problems: CheckProblem[] = [];
  const damaged = new Set<string>(); // blob keys that cannot be read intact
  const stats = { backups: 0, packs: 0, blobs: 0, packsRead: 0, bytesRead: 0 };

  // Backups first, then the index, then the packs: checks share the repository with backups and
  // forgets (prune alone is kept out, by its exclusive lock). A backup stores its packs, then its
  // index object, then its manifest, so every backup listed here has its index object stored
  // before the index is read, and every pack that index names before the packs are listed. Read
  // the other way round, a backup committed in between is taken for damage.
  const backups = await repo.backups(options.signal, {
    onDamaged: (error) =>
      problems.push({ kind: 'damaged-manifest', severity: 'error', message: error.message }),
    onStray: (key) =>
      problems.push({
        kind: 'misplaced-object',
        severity: 'warning',
        message: `${key} is no backup (its name is not a backup id): hbr never reads it`,
      }),
  });
  stats.backups = backups.length;

  // The repository's own index, which the walk below reads trees through too: built once (from
  // Azure or S3 a listing and a read of every index object; for 100,000 packs about 120 MB). A
  // damaged index object is left out of it, so it does not hide the others.
  const damagedIndexes: HbrError[] = [];
  const index = await repo.index({
    reload: true,
    signal: options.signal,
    onDamaged: (_id, error) => damagedIndexes.push(error),
    onStray: (key) =>
      problems.push({
        kind: 'misplaced-object',
        severity: 'warning',
        message: `${key} is no index object (its name is not an index id): hbr never reads it`,
      }),
  });
  stats.packs = index.packs().size;
  stats.blobs = index.size;

  // Packs present in the store, against those the index names. Only where a pack of its name is
  // read from: one in another folder is not there for a restore.
  const { packs: stored, strays } = await listStoredPacks(store);
  for (const key of strays) {
    const name = key.slice(key.lastIndexOf('/') + 1);
    problems.push({
      kind: 'misplaced-object',
      severity: 'warning',
      message: isPackId(name)
        ? `${key} is not where a pack of that name belongs (${packKey(name)})`
        : `${key} is no pack (its name is not a pack id): hbr never reads it`,
    });
  }
  for (const [packId, entries] of index.packs()) {
    const size = stored.get(packId);
    const least = leastPackSize(entries);
    if (size === undefined) {
      problems.push({
        kind: 'missing-pack',
        severity: 'error',
        pack: packId,
        message: `pack ${packId} is missing from the store`,
        blobs: _hex(entries),
      });
      for (const e of entries) damaged.add(idKey(e.id));
    } else if (size < least) {
      // Cut into its header at least (cut into its blobs, those are named): its blobs may read
      // well, but a pack whose header is unreadable cannot be indexed again, nor repacked.
      problems.push({
        kind: 'truncated-pack',
        severity: 'error',
        pack: packId,
        message: `pack ${packId} is truncated: ${size} bytes, at least ${least} expected`,
        blobs: _hex(entries.filter((e) => e.offset + e.length > size)),
      });
      for (const e of entries) if (e.offset + e.length > size) damaged.add(idKey(e.id));
    }
  }
  // What a damaged index object listed cannot be read, but when every pack in the store is in a
  // sound one (a backup or prune indexed them again from their headers), nothing is lost with it:
  // a pack it named that is gone shows as missing blobs of the backups that need it.
  const unindexed = [...stored.keys()].filter((packId) => !index.hasPack(packId));
  for (const error of damagedIndexes) {
    const redundant = error instanceof IntegrityError && unindexed.length === 0;
    problems.push({
      kind: 'damaged-index',
      severity: redundant ? 'warning' : 'error',
      message: redundant
        ? `${error.message}; every pack in the store is in another index object, so nothing is lost: prune removes it`
        : error.message,
    });
  }
  for (const packId of unindexed) {
    problems.push({
      kind: 'unindexed-pack',
      severity: 'warning',
      pack: packId,
      message: `pack ${packId} is in no index (left by an interrupted backup, or its index was lost): if it is sound (it matches its name and its header reads), prune and \`hbr repair\` index the blobs in it that read well (prune deletes it if no backup uses it), as does the next backup when a stale lock says a backup died; if not, nothing indexes it: \`hbr repair\` copies out the blobs that read well and deletes it, or, when its header cannot be read, names it for you to delete`,
    });
  }

  await _checkForgotten(repo, problems, options.signal);

  if (options.readData) {
    await _readData(repo, index, stored, damaged, problems, stats, options);
  }

  const found = await _walkBackups(repo, backups, index, damaged);
  const affected: AffectedBackup[] = [];
  for (const { backup, paths, own } of found) {
    problems.push(...own);
    if (paths.length > 0) affected.push({ backup: backup.shortId, source: backup.source, paths });
  }
  const ok = !problems.some((p) => p.severity === 'error');
  return { ok, problems, affected, stats };
}

/** What walking one backup found: its paths that cannot be restored whole, and why. */
interface _BackupFound {
  readonly backup: BackupRecord;
  readonly paths: string[];
  readonly own: CheckProblem[];
}

/**
 * Walks every backup: the blobs it needs must be indexed and not `damaged`. Several at once: a
 * backup's folders lie one below the other, a round trip each from a remote store; the trees
 * backups share are read once (`readTree`), and a folder found intact below is gone through once
 * for all the backups holding it (`walkTree`'s `intact`), as restic's check walks each tree once:
 * backups of data that changes little share most of their folders, and each backup went through
 * every file of them again. A check (without `--read-data`) of 20 backups of the benchmark's data
 * set, 19 of them of the same files: 0.89-0.97 s, now 0.52-0.56. (The benchmark's own three share
 * less: its version 2 changed files in most folders. Its check took 3.31 s instead of 3.43, 5
 * alternating pairs, 4 faster.) What each backup finds is in the backups' order.
 */
function _walkBackups(
  repo: OpenRepository,
  backups: readonly BackupRecord[],
  index: MasterIndex,
  damaged: ReadonlySet<string>,
): Promise<_BackupFound[]> {
  const intact: IntactTrees = new Map();
  const walks = pLimit(BACKUPS_WALKED_AT_ONCE);
  return Promise.all(
    backups.map((backup) =>
      walks(async () => {
        const paths: string[] = [];
        const own: CheckProblem[] = [];
        const visit: Visit = (path, node, treeError) => {
          if (treeError) {
            paths.push(`${path}/ (directory unreadable)`);
            own.push({
              kind: 'damaged-tree',
              severity: 'error',
              message: `backup ${backup.shortId}: ${path || '/'}: ${treeError}`,
            });
            return false;
          }
          let bad = false;
          for (const hex of node?.content ?? []) {
            const id = Buffer.from(hex, 'hex');
            if (!index.has(id)) {
              bad = true;
              own.push({
                kind: 'missing-blob',
                severity: 'error',
                blobs: [hex],
                message: `backup ${backup.shortId}: ${path}: blob ${hex.slice(0, 16)} is in no index`,
              });
            } else if (damaged.size > 0 && damaged.has(idKey(id))) bad = true;
          }
          if (bad) paths.push(path);
          return !bad;
        };
        await walkTree(repo, backup.tree, '', visit, undefined, intact);
        return { backup, paths, own };
      }),
    ),
  );
}

/** Backups {@link checkRepository} walks at once. */
const BACKUPS_WALKED_AT_ONCE = 8;

/**
 * What {@link walkTree} is told of each entry: its path and node, or (`treeError`) that the folder at
 * `path` could not be read. `false` says something there is wrong (see `intact`).
 */
export type Visit = (
  path: string,
  node: TreeNode | undefined,
  treeError?: string,
) => boolean | void;

/**
 * Whether all below a tree is intact (no visit of it said `false`, every tree read), by tree id,
 * once the first walk through it knows: see {@link walkTree}.
 */
export type IntactTrees = Map<string, Promise<boolean>>;

/**
 * Visits every entry below the tree `tree` (hex id), depth first, as `prefix/name/…`: a folder
 * whose tree cannot be read is visited with the error instead, and the walk goes on beside it.
 * `descend` (default: always) says whether to read a folder's tree at all. Walks given the same
 * `intact` (whose visits judge entries alike) go through a folder found intact only once: a
 * folder's tree id names all below it. One with something wrong below is walked by each, for its
 * own visits. Resolves to whether all below `tree` is intact.
 */
export async function walkTree(
  repo: OpenRepository,
  tree: string,
  prefix: string,
  visit: Visit,
  descend: (subtree: string) => boolean = () => true,
  intact?: IntactTrees,
): Promise<boolean> {
  const trees = createCachedTreeReader(repo);
  const unknown = (subtree: string): boolean => descend(subtree) && !intact?.has(subtree);
  const walkFolder = async (at: string, path: string): Promise<boolean> => {
    let nodes: TreeNode[];
    try {
      nodes = await trees.read(at);
    } catch (error) {
      visit(path, undefined, error instanceof Error ? error.message : String(error));
      return false;
    }
    // The subfolders' trees are read while the walk goes through what comes before them, and those
    // of the folders inside them as they arrive; not those known intact.
    trees.ahead(foldersBelow(nodes, unknown));
    let whole = true;
    for (const node of nodes) {
      const here = `${path}/${node.name}`;
      const ok =
        node.type === 'dir' && node.subtree && descend(node.subtree)
          ? await walk(node.subtree, here)
          : visit(here, node) !== false;
      if (!ok) whole = false;
    }
    return whole;
  };
  // No tree lies below itself (ids are hashes), so a walk waiting on another's never waits on itself.
  const walk = async (at: string, path: string): Promise<boolean> => {
    const known = intact?.get(at);
    if (known && (await known)) return true;
    let tell: ((whole: boolean) => void) | undefined;
    if (intact && !known && intact.size < _INTACT_TREES_KEPT) {
      intact.set(at, new Promise((resolve) => (tell = resolve)));
    }
    let whole = false;
    try {
      whole = await walkFolder(at, path);
    } finally {
      tell?.(whole);
    }
    return whole;
  };
  return walk(tree, prefix);
}

/**
 * Trees an {@link IntactTrees} holds at most: about 200 bytes each, so 13 MB, whatever the
 * repository. Past them, folders are walked by every walk that meets them.
 */
const _INTACT_TREES_KEPT = 65_536;

// --- internal ---

/**
 * The record of what `hbr forget` removed (forgotten.ts): an object of it that cannot be read
 * loses no backup, but SQL Server backups no longer know the sets it named for removed ones, and
 * may warn of them as lost. A warning, then, each object once (a read that lost an object to a
 * concurrent forget lists them again).
 */
async function _checkForgotten(
  repo: OpenRepository,
  problems: CheckProblem[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const damaged = new Map<string, string>();
  const strays = new Set<string>();
  try {
    await readForgotten(repo, signal, {
      onDamaged: (key, why) => damaged.set(key, why),
      onStray: (key) => strays.add(key),
    });
  } catch (error) {
    // As a backup that cannot read them goes on with a warning (a credential without access to
    // them, forgets replacing them throughout): the backups are checked all the same.
    if (!(error instanceof StoreError) || signal?.aborted) throw error;
    problems.push({
      kind: 'damaged-forgotten',
      severity: 'warning',
      message: `${FORGOTTEN_PREFIX} could not be read (${error.message}): SQL Server backups that cannot read it either may warn of the sets of backups \`hbr forget\` removed as lost ones`,
    });
  }
  for (const [key, why] of damaged) {
    problems.push({
      kind: 'damaged-forgotten',
      severity: 'warning',
      message: `${key} cannot be read (${why}): no backup is lost with it, but SQL Server backups may warn of the sets of the backups \`hbr forget\` removed that it names as lost ones; delete it to end this warning`,
    });
  }
  for (const key of strays) {
    problems.push({
      kind: 'misplaced-object',
      severity: 'warning',
      message: `${key} is no record of ${FORGOTTEN_PREFIX} (its name is not a SHA-256): hbr never reads it`,
    });
  }
}

function _hex(entries: readonly PackEntry[]): string[] {
  return entries.map((e) => e.id.toString('hex'));
}

async function _readData(
  repo: OpenRepository,
  index: MasterIndex,
  stored: Map<string, number>,
  damaged: Set<string>,
  problems: CheckProblem[],
  stats: CheckReport['stats'],
  options: CheckOptions,
): Promise<void> {
  let packs = [...index.packs().keys()].filter((p) => stored.has(p));
  const percent = options.subsetPercent ?? 100;
  if (percent < 100) {
    const want = Math.max(1, Math.ceil((packs.length * percent) / 100));
    packs = packs
      .map((p) => ({ p, r: Math.random() }))
      .sort((a, b) => a.r - b.r)
      .slice(0, want)
      .map((x) => x.p);
  }
  const toRead = packs.map((packId) => ({
    packId,
    size: stored.get(packId) ?? 0,
    entries: index.packs().get(packId) ?? [],
  }));
  let done = 0;
  await verifyPacks(
    repo,
    toRead,
    (pack) => {
      stats.packsRead++;
      stats.bytesRead += pack.bytes.length;
      for (const e of pack.bad) damaged.add(idKey(e.id));
      const damage = packDamage(pack);
      if (damage !== undefined) {
        problems.push({
          kind: pack.bad.length > 0 ? 'damaged-blob' : 'damaged-pack',
          severity: 'error',
          pack: pack.packId,
          blobs: _hex(pack.bad),
          message: `pack ${pack.packId}: ${damage}`,
        });
      }
      options.onProgress?.(++done, toRead.length, stats.bytesRead);
    },
    options.signal,
  );
}

/**
 * `hbr repair`: takes damaged blobs out of the index, so that backups store them again. A blob
 * that stays indexed damaged is what every later backup deduplicates against: it stores nothing
 * of its own, and so each backup of that content is damaged too. Under prune's exclusive lock,
 * repair reads every pack whole and verifies every blob (as `check --read-data` does), then, in
 * prune's order: copies the intact blobs of each damaged pack into new packs (sealed bytes as
 * they are), writes a fresh index without the damaged blobs and packs, deletes the old index
 * objects, and only then the damaged packs. A crash at any step leaves a valid repository: before
 * the old index objects are gone nothing is dropped yet (a second repair does it all again);
 * after, a damaged pack left in the store is in no index, and recovery does not index a pack
 * that no longer matches its name (`readUnindexedPacks`), so a dropped blob never comes back: the
 * next repair deletes it. A pack no index names whose header cannot be read is left as it is: which
 * blobs it holds cannot be known, and deleting it would lose the intact ones unread.
 * @module
 */
import { IntegrityError } from '../errors.ts';
import { walkTree, type AffectedBackup } from './check.ts';
import { storeIndexObjects, type IndexedPack } from './index-file.ts';
import { createBlobCopier } from './blob-copier.ts';
import { acquireLock, type OnLockLeft } from './locks.ts';
import { idKey } from './master-index.ts';
import { listStoredPacks, packKey, type PackEntry } from './pack.ts';
import type { OpenRepository } from './repository.ts';
import type { BackupRecord } from './types.ts';
import { packDamage, verifyPacks, type PackToVerify } from './verify-packs.ts';

export interface RepairOptions {
  /** Find and report the damage, change nothing. */
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  readonly onStep?: (step: string) => void;
  /** After each pack read: packs done, of how many, bytes read so far. */
  readonly onProgress?: (done: number, total: number, bytes: number) => void;
  /** Told when repair's lock cannot be removed at the end (see `RepositoryLock.release`). */
  readonly onLockLeft?: OnLockLeft;
}

/** A pack found damaged or missing, and its blobs that fail (`blobsDropped`: those the index loses). */
export interface DamagedPack {
  readonly pack: string;
  readonly message: string;
  /** Whether an index object named it (else it lay in the store unindexed). */
  readonly indexed: boolean;
  /** Hex ids of its blobs that fail, or of all of them when it is missing. */
  readonly blobs: readonly string[];
  /**
   * Left in the store as it is: no index names it and its header cannot be read, so which blobs
   * it holds is unknown, and intact ones among them would be lost unread with it. Nothing of it
   * is dropped, copied or deleted.
   */
  readonly left?: true;
}

export interface RepairReport {
  readonly dryRun: boolean;
  /** Packs read whole (every pack in the store). */
  readonly packsRead: number;
  readonly bytesRead: number;
  readonly damaged: readonly DamagedPack[];
  /** Hex ids of the blobs taken out of the index: damaged, and no intact copy left anywhere. */
  readonly blobsDropped: readonly string[];
  /** Damaged packs in the store, whose intact blobs are copied into new packs before they go. */
  readonly packsRewritten: number;
  /** New packs written with those blobs (none in a dry run). */
  readonly packsWritten: number;
  /** Damaged packs deleted (or, in a dry run, to delete); not those `left`. */
  readonly packsDeleted: number;
  /**
   * Sound packs no index named, indexed (in a dry run: to index): by the new index, or when
   * nothing else needs writing, by an index object of their own, as a backup's start would.
   */
  readonly unindexedPacksIndexed: number;
  /** Damaged index objects, left out of the new index. */
  readonly damagedIndexes: number;
  /** Index objects replaced by the new index (none when nothing was damaged). */
  readonly indexesReplaced: number;
  /**
   * Backups that name a blob the index lacks once repaired (walked as `check` walks them): one
   * this repair dropped, one an earlier, interrupted repair dropped, or one lost with its index
   * object. Damaged until a backup stores that content again.
   */
  readonly affected: readonly AffectedBackup[];
}

/**
 * Repairs a repository: see the module's description. Only damage drops a blob: a read of the
 * store that fails throws before anything is changed.
 * @throws RepositoryLockedError while any other command holds a lock; whatever a read of the
 *   store throws; IntegrityError when a damaged pack reads differently the second time.
 */
export async function repairRepository(
  repo: OpenRepository,
  options: RepairOptions = {},
): Promise<RepairReport> {
  const step = options.onStep ?? ((): void => undefined);
  const { signal } = options;
  const lock = await acquireLock(repo.store, repo.keys, {
    exclusive: true,
    operation: 'repair',
    onLockLeft: options.onLockLeft,
  });
  try {
    const { store } = repo;
    step('loading index');
    let damagedIndexes = 0;
    const index = await repo.index({ reload: true, signal, onDamaged: () => damagedIndexes++ });
    const oldIndexIds = await repo.indexIds();
    const { packs: stored } = await listStoredPacks(store, signal);
    const backups = await repo.backups(signal);

    // Every pack in the store: those an index names, verified against its listing; the others
    // against their own headers, so that a damaged one is found and removed too.
    const toRead: PackToVerify[] = [];
    const missing: DamagedPack[] = [];
    for (const [packId, entries] of index.packs()) {
      const size = stored.get(packId);
      if (size !== undefined) toRead.push({ packId, size, entries });
      else
        missing.push({
          pack: packId,
          message: `pack ${packId} is missing from the store`,
          indexed: true,
          blobs: entries.map((e) => e.id.toString('hex')),
        });
    }
    for (const [packId, size] of stored) if (!index.hasPack(packId)) toRead.push({ packId, size });

    step(`reading ${toRead.length} packs`);
    const found = await _findDamage(repo, toRead, (packId) => index.hasPack(packId), options);
    const damaged = [...found.damaged.values()];
    const gone = new Set([...missing.map((m) => m.pack), ...found.damaged.keys()]);
    // What failed where an index named it, and what reads well in a damaged pack: a copy of
    // either in a sound pack keeps the blob, and an intact one is copied only when none is.
    const failed = new Set<string>();
    const intact = new Set<string>();
    for (const m of missing) for (const hex of m.blobs) failed.add(_key(hex));
    for (const d of damaged) {
      if (d.report.indexed) for (const k of d.bad) failed.add(k);
      for (const e of d.entries) if (!d.bad.has(idKey(e.id))) intact.add(idKey(e.id));
    }
    // The index in memory is made to hold what the new one will, and the gone packs' listings
    // besides (as prune adds the packs it adopts): the sound packs no index named, and what reads
    // well in damaged packs no index named, which is copied. So backups' trees read from there,
    // and a blob the new index lacks is one this index lacks or one of `lost`.
    for (const p of found.adopted) index.addPack(p.packId, p.entries);
    for (const d of damaged)
      if (!d.report.indexed)
        index.addPack(
          d.report.pack,
          d.entries.filter((e) => !d.bad.has(idKey(e.id))),
        );
    const sound = _heldSound(index.packs(), gone, new Set([...failed, ...intact]));
    const lost = new Set([...failed].filter((k) => !sound.has(k) && !intact.has(k)));
    const lacks = (id: Buffer): boolean => !index.has(id) || lost.has(idKey(id));

    const report: RepairReport = {
      dryRun: Boolean(options.dryRun),
      packsRead: toRead.length,
      bytesRead: found.bytesRead,
      damaged: [...missing, ...damaged.map((d) => d.report), ...found.left],
      blobsDropped: [...lost].map((k) => Buffer.from(k, 'latin1').toString('hex')),
      packsRewritten: damaged.length,
      packsWritten: 0,
      packsDeleted: damaged.length,
      unindexedPacksIndexed: found.adopted.length,
      damagedIndexes,
      indexesReplaced: 0,
      affected: [],
    };
    if (options.dryRun || (gone.size === 0 && damagedIndexes === 0)) {
      // Nothing to drop: no index object is replaced, and sound packs no index named are added.
      if (!options.dryRun && found.adopted.length > 0) {
        step(`indexing ${found.adopted.length} packs that no index named`);
        lock.throwIfLost();
        await storeIndexObjects(store, repo.keys, found.adopted, signal);
      }
      step('walking every backup');
      return { ...report, affected: await _affectedBackups(repo, backups, lacks) };
    }

    step(`copying the intact blobs of ${damaged.length} damaged packs`);
    lock.throwIfLost();
    const newPacks = await _copyIntact(repo, damaged, sound, signal);

    step('writing the new index');
    lock.throwIfLost();
    const all: IndexedPack[] = [
      ...[...index.packs()]
        .filter(([packId]) => !gone.has(packId))
        .map(([packId, entries]) => ({ packId, entries })),
      ...newPacks,
    ];
    const newIndexIds = await storeIndexObjects(store, repo.keys, all, signal);

    // The old index objects first: while one is left, it names the damaged packs, which must
    // still be there for it to name.
    step('deleting old index objects and damaged packs');
    lock.throwIfLost();
    let indexesReplaced = 0;
    for (const id of oldIndexIds) {
      if (newIndexIds.has(id)) continue;
      await store.delete(`index/${id}`, { signal });
      indexesReplaced++;
    }
    for (const packId of found.damaged.keys()) await store.delete(packKey(packId), { signal });

    // Against the index as it now is: every blob a backup names that it lacks, whatever dropped
    // it (this repair, or an earlier one interrupted after its index was written).
    step('walking every backup');
    const final = await repo.index({ reload: true, signal });
    const affected = await _affectedBackups(repo, backups, (id) => !final.has(id));
    return { ...report, packsWritten: newPacks.length, indexesReplaced, affected };
  } finally {
    await lock.release();
  }
}

// --- internal ---

/** A damaged pack in the store, as the first reading found it. */
interface _Damaged {
  readonly report: DamagedPack;
  readonly size: number;
  /** The blobs verified: its index listing, or its header's. */
  readonly entries: readonly PackEntry[];
  /** Keys (`idKey`) of those that failed. */
  readonly bad: ReadonlySet<string>;
}

interface _Found {
  /** Damaged packs to rewrite and delete. */
  readonly damaged: Map<string, _Damaged>;
  /** Damaged packs to leave as they are (see `DamagedPack.left`). */
  readonly left: DamagedPack[];
  /** Sound packs that no index names. */
  readonly adopted: IndexedPack[];
  readonly bytesRead: number;
}

/** Reads and verifies every pack of `toRead`, sorting them into damaged and (unindexed) sound. */
async function _findDamage(
  repo: OpenRepository,
  toRead: readonly PackToVerify[],
  isIndexed: (packId: string) => boolean,
  options: RepairOptions,
): Promise<_Found> {
  const damaged = new Map<string, _Damaged>();
  const left: DamagedPack[] = [];
  const adopted: IndexedPack[] = [];
  let done = 0;
  let bytesRead = 0;
  await verifyPacks(
    repo,
    toRead,
    (pack) => {
      bytesRead += pack.bytes.length;
      const indexed = isIndexed(pack.packId);
      options.onProgress?.(++done, toRead.length, bytesRead);
      const damage = packDamage(pack);
      if (damage === undefined) {
        if (!indexed) adopted.push({ packId: pack.packId, entries: pack.entries });
        return;
      }
      const message = `pack ${pack.packId}: ${damage}`;
      if (!indexed && !pack.headerOk) {
        left.push({
          pack: pack.packId,
          message: `${message}: which blobs it holds cannot be known, so it is left in the store as it is`,
          indexed,
          blobs: [],
          left: true,
        });
        return;
      }
      const blobs = pack.bad.map((e) => e.id.toString('hex'));
      damaged.set(pack.packId, {
        report: { pack: pack.packId, message, indexed, blobs },
        size: pack.bytes.length,
        entries: pack.entries,
        bad: new Set(pack.bad.map((e) => idKey(e.id))),
      });
    },
    options.signal,
  );
  return { damaged, left, adopted, bytesRead };
}

/**
 * Those of `among` (blob keys) that a sound pack holds: one `indexed` names that is not `gone`
 * (damaged or missing).
 */
function _heldSound(
  indexed: ReadonlyMap<string, readonly PackEntry[]>,
  gone: ReadonlySet<string>,
  among: ReadonlySet<string>,
): Set<string> {
  const held = new Set<string>();
  if (among.size === 0) return held;
  for (const [packId, entries] of indexed) {
    if (gone.has(packId)) continue;
    for (const e of entries) if (among.has(idKey(e.id))) held.add(idKey(e.id));
  }
  return held;
}

/**
 * Reads the damaged packs again and copies their intact blobs that no sound pack holds into new
 * packs, stored; returns them, for the new index. Each pack must fail as it failed the first time:
 * a store that returns other bytes for the same object is not one to drop blobs by.
 */
async function _copyIntact(
  repo: OpenRepository,
  damaged: readonly _Damaged[],
  sound: ReadonlySet<string>,
  signal: AbortSignal | undefined,
): Promise<IndexedPack[]> {
  const copier = createBlobCopier(repo, signal);
  const first = new Map(damaged.map((d) => [d.report.pack, d]));
  const copied = new Set<string>();
  try {
    await verifyPacks(
      repo,
      damaged.map((d) => ({ packId: d.report.pack, size: d.size, entries: d.entries })),
      async (pack) => {
        const before = first.get(pack.packId)?.bad ?? new Set<string>();
        const bad = new Set(pack.bad.map((e) => idKey(e.id)));
        if (bad.size !== before.size || [...bad].some((k) => !before.has(k)))
          throw new IntegrityError(
            `pack ${pack.packId}: ${before.size} blobs failed verification, then ${bad.size} when read again: the store returns other bytes each time; nothing was dropped`,
          );
        for (const e of pack.entries) {
          const k = idKey(e.id);
          if (bad.has(k) || sound.has(k) || copied.has(k)) continue;
          copied.add(k);
          await copier.copy(e, pack.bytes);
        }
      },
      signal,
    );
    return await copier.finish();
  } catch (error) {
    await copier.discard();
    throw error;
  }
}

/**
 * The backups that name a blob the index `lacks`, and the paths in each: a file of such content,
 * a folder whose listing is lacking (nothing below it can be named), or one that cannot be read.
 * A structural walk, as `check`'s: every tree of every backup is read.
 */
async function _affectedBackups(
  repo: OpenRepository,
  backups: readonly BackupRecord[],
  lacks: (id: Buffer) => boolean,
): Promise<AffectedBackup[]> {
  const isLacking = (hex: string): boolean => lacks(Buffer.from(hex, 'hex'));
  const affected: AffectedBackup[] = [];
  for (const backup of backups) {
    const paths: string[] = [];
    if (isLacking(backup.tree)) paths.push('/ (directory lost)');
    else
      await walkTree(
        repo,
        backup.tree,
        '',
        (path, node, treeError) => {
          if (treeError !== undefined) paths.push(`${path}/ (directory unreadable)`);
          else if (node?.subtree !== undefined && isLacking(node.subtree))
            paths.push(`${path}/ (directory lost)`);
          else if (node?.content?.some(isLacking)) paths.push(path);
        },
        (subtree) => !isLacking(subtree),
      );
    if (paths.length > 0) affected.push({ backup: backup.shortId, source: backup.source, paths });
  }
  return affected;
}

/** The `idKey` of a hex blob id. */
function _key(hex: string): string {
  return idKey(Buffer.from(hex, 'hex'));
}

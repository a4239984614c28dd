/**
 * `hbr prune`: frees the space of blobs no backup needs. Under an exclusive lock (so no backup
 * is running and none can start), it marks every blob reachable from a manifest, deletes packs
 * with no live blob, repacks partly-used packs while more than `maxUnusedPercent` of the data is
 * dead (copying sealed blobs as they are: no re-encryption), writes a fresh index, and only then
 * deletes the old index objects and packs. A crash at any step leaves a valid repository: at
 * worst some packs stay behind until the next prune. It first removes the temporary files that
 * writes cut short by a crash left in a local repository.
 * @module
 */
import { IntegrityError, isHbrError, UsageError } from '../errors.ts';
import { readForgotten, replaceForgotten, type ForgottenEntries } from './forgotten.ts';
import { storeIndexObjects, type IndexedPack } from './index-file.ts';
import { createBlobCopier } from './blob-copier.ts';
import { acquireLock, type OnLockLeft } from './locks.ts';
import { notesPrefix } from './notes.ts';
import { idKey } from './master-index.ts';
import { listStoredPacks, packKey, parsePack, readPack, unlistedBytes } from './pack.ts';
import { readUnindexedPacks } from './recover.ts';
import type { OpenRepository } from './repository.ts';

export interface PruneOptions {
  /** Tolerated dead data, as a percentage of live data, before packs are repacked. @default 5 */
  readonly maxUnusedPercent?: number;
  /** Report what would be done, change nothing. */
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  readonly onStep?: (step: string) => void;
  /** Told when prune's lock cannot be removed at the end (see `RepositoryLock.release`). */
  readonly onLockLeft?: OnLockLeft;
}

export interface PruneReport {
  readonly dryRun: boolean;
  readonly liveBlobs: number;
  readonly packsDeleted: number;
  readonly packsRepacked: number;
  readonly packsWritten: number;
  /** Packs no index named that held no live blob. */
  readonly unindexedPacksDeleted: number;
  /** Packs no index named that held live blobs: indexed now (an index object had been lost). */
  readonly unindexedPacksKept: number;
  readonly indexesReplaced: number;
  readonly bytesFreed: number;
  readonly unusedBytesAfter: number;
  /** Temporary files that writes cut short by a crash had left in a local repository. */
  readonly temporaryFilesRemoved: number;
  /** Damaged index objects removed (or to remove): every pack in the store was indexed without them. */
  readonly damagedIndexesRemoved: number;
}

/**
 * How long a temporary file must have gone unwritten before prune removes it. Under prune's
 * exclusive lock no backup writes, but a command taking its lock meanwhile writes its lock object
 * through a temporary file, which must not vanish before it is renamed.
 */
const TEMPORARY_AGE_MS = 60 * 60 * 1000;

/** Prunes a repository. @throws RepositoryLockedError while any backup holds a lock. */
export async function pruneRepository(
  repo: OpenRepository,
  options: PruneOptions = {},
): Promise<PruneReport> {
  const maxUnused = options.maxUnusedPercent ?? 5;
  if (!(maxUnused >= 0 && maxUnused <= 100))
    throw new UsageError('--max-unused must be between 0 and 100');
  const step = options.onStep ?? ((): void => undefined);
  const lock = await acquireLock(repo.store, repo.keys, {
    exclusive: true,
    operation: 'prune',
    onLockLeft: options.onLockLeft,
  });
  try {
    const { store, keys } = repo;
    let temporaryFilesRemoved = 0;
    if (!options.dryRun && store.removeTemporary) {
      step('removing temporary files left by interrupted writes');
      const olderThan = new Date(Date.now() - TEMPORARY_AGE_MS);
      temporaryFilesRemoved = await store.removeTemporary({
        olderThan,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
    step('loading index');
    const damagedIndexes: string[] = [];
    const index = await repo.index({
      reload: true,
      onDamaged: (id) => damagedIndexes.push(id),
    });
    const oldIndexIds = await repo.indexIds();
    const { packs: storedPacks } = await listStoredPacks(store, options.signal);
    // Packs no index names (an interrupted backup's, or listed by an index object that was lost)
    // are weighed like the others, read whole and verified: a live blob in one keeps it (it was
    // deleted unread, and backups lost their only copy). Of a damaged one, only the blobs that
    // verify are listed: the rest is dead space.
    const adopted = new Set<string>();
    for (const { packId, entries } of await readUnindexedPacks(
      repo,
      index,
      storedPacks,
      options.signal,
    )) {
      index.addPack(packId, entries);
      adopted.add(packId);
    }

    // A damaged index object is left behind by the usual run (nothing to delete, nothing to
    // adopt): rewritten while every pack in the store is indexed without it, the index loses
    // nothing by its removal, and check stops warning of it.
    const dropDamaged =
      damagedIndexes.length > 0 && [...storedPacks.keys()].every((packId) => index.hasPack(packId));

    step('finding live blobs');
    const live = new Set<string>();
    const markTree = async (tree: string): Promise<void> => {
      if (live.has(idKey(Buffer.from(tree, 'hex')))) return; // shared subtrees are walked once
      live.add(idKey(Buffer.from(tree, 'hex')));
      for (const node of await repo.readTree(tree)) {
        for (const hex of node.content ?? []) live.add(idKey(Buffer.from(hex, 'hex')));
        if (node.subtree) await markTree(node.subtree);
      }
    };
    // Strict: the data of a backup whose manifest cannot be read must not be taken for dead, nor
    // that below a folder whose listing cannot be (damaged, or dropped by `hbr repair`).
    for (const backup of await repo.backups(options.signal, { strict: true })) {
      try {
        await markTree(backup.tree);
      } catch (error) {
        if (!isHbrError(error) || (error.code !== 'NOT_FOUND' && error.code !== 'INTEGRITY'))
          throw error;
        throw new IntegrityError(
          `backup ${backup.shortId}: ${error.message}: prune cannot tell which data the backup needs, so it deletes nothing. Store the folder again (a backup of the same paths stores what the index lacks) or forget the backup, then prune`,
          { cause: error },
        );
      }
    }

    // A blob counts as used only at the location the index resolves it to; other copies are dead,
    // and so are the blobs no index lists (damaged ones that recovery left out).
    const usage = [...index.packs()].map(([packId, entries]) => {
      let used = 0;
      let unused = unlistedBytes(entries, storedPacks.get(packId) ?? 0);
      for (const e of entries) {
        const isLive = live.has(idKey(e.id)) && index.get(e.id)?.packId === packId;
        if (isLive) used += e.length;
        else unused += e.length;
      }
      return { packId, entries, used, unused };
    });
    const toDelete = usage.filter((u) => u.used === 0);
    const partly = usage
      .filter((u) => u.used > 0 && u.unused > 0)
      .sort((a, b) => b.unused / (b.used + b.unused) - a.unused / (a.used + a.unused));
    const totalUsed = usage.reduce((s, u) => s + u.used, 0);
    let unusedLeft = partly.reduce((s, u) => s + u.unused, 0);
    const toRepack: typeof partly = [];
    for (const u of partly) {
      if (unusedLeft <= (totalUsed * maxUnused) / 100) break;
      toRepack.push(u);
      unusedLeft -= u.unused;
    }
    const gone = new Set([...toDelete, ...toRepack].map((u) => u.packId));
    const unindexedDeleted = toDelete.filter((u) => adopted.has(u.packId)).length;
    // Net of the live blobs that repacking writes again.
    const bytesFreed =
      [...gone].reduce((s, p) => s + (storedPacks.get(p) ?? 0), 0) -
      toRepack.reduce((s, u) => s + u.used, 0);

    const report = {
      dryRun: Boolean(options.dryRun),
      liveBlobs: live.size,
      packsDeleted: toDelete.length - unindexedDeleted,
      packsRepacked: toRepack.length,
      packsWritten: 0,
      unindexedPacksDeleted: unindexedDeleted,
      unindexedPacksKept: adopted.size - unindexedDeleted,
      indexesReplaced: oldIndexIds.length,
      bytesFreed,
      unusedBytesAfter: unusedLeft,
      temporaryFilesRemoved,
      damagedIndexesRemoved: dropDamaged ? damagedIndexes.length : 0,
    };
    // Packs adopted and kept are written into the new index even when nothing goes, and so is
    // the index whose damaged object goes.
    if (options.dryRun || (gone.size === 0 && adopted.size === 0 && !dropDamaged)) {
      return { ...report, indexesReplaced: 0 };
    }

    step(`repacking ${toRepack.length} packs`);
    lock.throwIfLost(); // a backup may have started, taking this lock for stale
    const copier = createBlobCopier(repo, options.signal);
    let newPacks: IndexedPack[];
    try {
      for (const u of toRepack) {
        options.signal?.throwIfAborted();
        const bytes = await readPack(store, u.packId, options.signal);
        parsePack(keys, u.packId, bytes); // refuse to copy from a pack whose header is damaged
        for (const e of u.entries) {
          if (!live.has(idKey(e.id)) || index.get(e.id)?.packId !== u.packId) continue;
          await copier.copy(e, bytes);
        }
      }
      newPacks = await copier.finish();
    } catch (error) {
      await copier.discard();
      throw error;
    }

    step('writing the new index');
    lock.throwIfLost();
    const kept: IndexedPack[] = [...index.packs()]
      .filter(([packId]) => !gone.has(packId))
      .map(([packId, entries]) => ({ packId, entries }));
    const newIndexIds = await storeIndexObjects(
      store,
      keys,
      [...kept, ...newPacks],
      options.signal,
    );

    step('deleting old index objects and packs');
    lock.throwIfLost();
    for (const id of oldIndexIds)
      if (!newIndexIds.has(id)) await store.delete(`index/${id}`, { signal: options.signal });
    for (const packId of gone) await store.delete(packKey(packId), { signal: options.signal });
    await repo.index({ reload: true });
    return { ...report, packsWritten: newPacks.length };
  } finally {
    await lock.release();
  }
}

/**
 * Deletes backups' manifests (`hbr forget`). Their data stays until `prune`.
 * Takes a shared lock: safe beside running backups, excluded while prune runs. `onLockLeft`: see
 * `RepositoryLock.release`. With `remember`, what forget records of the backups it removes (see
 * `forgotten.ts`) is written before any manifest is deleted, so that a reader that no longer finds
 * a manifest finds the record; and written again once they all are, when what the record may leave
 * out can be judged on the backups that remain (never before: a backup or a restore running
 * between two deletes, or after a forget that failed midway, still sees some removed backups).
 */
export async function forgetBackups(
  repo: OpenRepository,
  ids: readonly string[],
  options: {
    onLockLeft?: OnLockLeft;
    /**
     * Given what earlier forgets recorded, what is recorded now (see `replaceForgotten`); with
     * `deleted`, once the manifests are deleted.
     */
    remember?: (recorded: ForgottenEntries, deleted: boolean) => ForgottenEntries;
  } = {},
): Promise<void> {
  const lock = await acquireLock(repo.store, repo.keys, {
    exclusive: false,
    operation: 'forget',
    deletes: true,
    onLockLeft: options.onLockLeft,
  });
  try {
    const record = async (deleted: boolean): Promise<void> => {
      if (!options.remember) return;
      const before = await readForgotten(repo);
      await replaceForgotten(repo, before, options.remember(before.entries, deleted));
    };
    await record(false);
    for (const id of ids) {
      await repo.store.delete(`snapshots/${id}`);
      for await (const { key } of repo.store.list(notesPrefix(id))) await repo.store.delete(key);
    }
    await record(true);
  } finally {
    await lock.release();
  }
}

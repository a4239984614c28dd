/**
 * Finding packs that an interrupted backup uploaded but never indexed, so the next backup
 * reuses their blobs instead of uploading them again.
 * @module
 */
import { isHbrError } from '../errors.ts';
import { encodeIndex, type IndexedPack } from './index-file.ts';
import type { MasterIndex } from './master-index.ts';
import { listStoredPacks, readUnindexedPack } from './pack.ts';
import type { OpenRepository } from './repository.ts';

/**
 * Indexes every complete pack that no index names; damaged ones are left for `check` and
 * `prune`. Returns how many packs were recovered. Cheap when there are none: one listing.
 */
export async function recoverUnindexedPacks(
  repo: OpenRepository,
  index: MasterIndex,
  signal?: AbortSignal,
): Promise<number> {
  const { packs } = await listStoredPacks(repo.store, signal);
  const recovered = await readUnindexedPacks(repo, index, packs.keys(), signal);
  if (recovered.length === 0) return 0;
  const { id, bytes } = encodeIndex(repo.keys, recovered);
  await repo.store.put(`index/${id}`, bytes, { signal });
  for (const p of recovered) index.addPack(p.packId, p.entries);
  return recovered.length;
}

/**
 * The entries of each of `packIds` that `index` does not name, each pack read whole and checked
 * against its name (`readUnindexedPack`); a damaged one is left out, for `check` to report.
 */
export async function readUnindexedPacks(
  repo: Pick<OpenRepository, 'store' | 'keys'>,
  index: MasterIndex,
  packIds: Iterable<string>,
  signal?: AbortSignal,
): Promise<IndexedPack[]> {
  const read: IndexedPack[] = [];
  for (const packId of packIds) {
    if (index.hasPack(packId)) continue;
    try {
      read.push({
        packId,
        entries: await readUnindexedPack(repo.store, repo.keys, packId, signal),
      });
    } catch (error) {
      if (!isHbrError(error)) throw error;
    }
  }
  return read;
}

/**
 * Finding packs that an interrupted backup uploaded but never indexed, so the next backup
 * reuses their blobs instead of uploading them again.
 * @module
 */
import { isHbrError } from '../errors.ts';
import { encodeIndex, type IndexedPack } from './index-file.ts';
import type { MasterIndex } from './master-index.ts';
import { listStoredPacks, type PackEntry } from './pack.ts';
import type { OpenRepository } from './repository.ts';
import { verifyPacks } from './verify-packs.ts';

/**
 * Indexes every sound pack that no index names; damaged ones are left for `check` to report
 * and `repair` to remove. Returns how many packs were recovered. Cheap when there are none: one listing.
 */
export async function recoverUnindexedPacks(
  repo: OpenRepository,
  index: MasterIndex,
  signal?: AbortSignal,
): Promise<number> {
  const { packs } = await listStoredPacks(repo.store, signal);
  const recovered = await readUnindexedPacks(repo, index, packs, signal);
  if (recovered.length === 0) return 0;
  const { id, bytes } = encodeIndex(repo.keys, recovered);
  await repo.store.put(`index/${id}`, bytes, { signal });
  for (const p of recovered) index.addPack(p.packId, p.entries);
  index.addObject(id);
  return recovered.length;
}

/**
 * The entries of each pack of `stored` (pack id → size, as listed) that `index` does not name,
 * each read whole and verified (`verifyPacks`): its name, its header and every blob. The header
 * alone is authenticated, not the blobs, and a pack may match its name with a damaged blob in it
 * (damaged before it was hashed); a blob indexed from it would be what later backups deduplicate
 * against, and one that `hbr repair` dropped would come back. So a pack with anything damaged is
 * left out whole, for `check` to report and `repair` to remove; so is one that cannot be read.
 */
export async function readUnindexedPacks(
  repo: Pick<OpenRepository, 'store' | 'keys'>,
  index: MasterIndex,
  stored: ReadonlyMap<string, number>,
  signal?: AbortSignal,
): Promise<IndexedPack[]> {
  const read: IndexedPack[] = [];
  for (const [packId, size] of stored) {
    if (index.hasPack(packId)) continue;
    let sound: readonly PackEntry[] | undefined;
    try {
      await verifyPacks(
        repo,
        [{ packId, size }],
        (pack) => {
          if (pack.hashOk && pack.headerOk && pack.bad.length === 0) sound = pack.entries;
        },
        signal,
      );
    } catch (error) {
      if (!isHbrError(error)) throw error;
    }
    if (sound) read.push({ packId, entries: sound });
  }
  return read;
}

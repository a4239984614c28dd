/**
 * Finding packs that an interrupted backup uploaded but never indexed, so the next backup
 * reuses their blobs instead of uploading them again.
 * @module
 */
import { isHbrError } from '../errors.ts';
import { encodeIndex, type IndexedPack } from './index-file.ts';
import type { MasterIndex } from './master-index.ts';
import { listStoredPacks, readPackHeader, type PackEntry } from './pack.ts';
import type { OpenRepository } from './repository.ts';
import { verifyPacks } from './verify-packs.ts';

/**
 * Indexes every pack that no index names, by the blobs in it that verify; one whose header
 * cannot be read is left for `check` to report. Returns how many packs were recovered. Cheap when
 * there are none: one listing.
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
 * Each pack of `stored` (pack id → size, as listed) that `index` does not name, its header read
 * first, then read whole and verified (`verifyPacks`), with the entries of its header that verify:
 * a blob that fails is left out. The header alone is authenticated, not the blobs, and a pack may
 * match its name with a damaged blob in it (damaged before it was hashed): indexed, that blob would
 * be what later backups deduplicate against, and one that `hbr repair` dropped would come back. Its
 * other blobs are indexed, so that the pack is named by an index and not read again by every
 * backup's start; what it holds unlisted is dead space for prune. A pack whose bytes no longer
 * match its name (damaged since it was written), whose header cannot be read (nothing to list), or
 * that cannot be read at all is left out, for `check --read-data` to report and `repair` to remove:
 * prune, which reads a pack it repacks by its name, would stop at it.
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
      // The header first: a pack whose header cannot be read is left out without reading it
      // whole, which every backup's start would do again until the pack is removed by hand.
      await readPackHeader(repo.store, repo.keys, packId, size, signal);
      await verifyPacks(
        repo,
        [{ packId, size }],
        (pack) => {
          const bad = new Set(pack.bad);
          // Only a pack that still matches its name: prune copies from a pack by its name, and
          // one that no longer matches is for `check --read-data` to report and `repair` to
          // remove.
          if (pack.headerOk && pack.hashOk) sound = pack.entries.filter((e) => !bad.has(e));
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

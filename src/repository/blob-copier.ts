/**
 * Copying stored blobs into new packs as they are (sealed bytes, no re-encryption): how prune
 * repacks the live blobs of partly used packs and repair salvages the intact blobs of damaged
 * ones.
 * @module
 */
import type { Store } from '../stores/types.ts';
import type { BlobType } from './blob-codec.ts';
import type { RepositoryKeys } from './crypto.ts';
import type { IndexedPack } from './index-file.ts';
import { createPackBuilder, type PackBuilder, type PackEntry } from './pack.ts';

export interface BlobCopier {
  /** Copies the blob `entry` lists from `packBytes` (its pack, whole) into the pack being filled. */
  copy(entry: PackEntry, packBytes: Buffer): Promise<void>;
  /** Stores the packs still being filled; returns every pack stored, for a new index. */
  finish(): Promise<IndexedPack[]>;
  /**
   * Gives up the packs being filled, temporary files and all. Those stored stay unindexed: the
   * next prune or repair indexes or deletes them.
   */
  discard(): Promise<void>;
}

/**
 * A copier filling one pack per blob type (data and trees are packed apart, as backups pack
 * them), each stored once it reaches `packSize`.
 */
export function createBlobCopier(
  repo: {
    readonly keys: RepositoryKeys;
    readonly store: Store;
    readonly config: { readonly packSize: number };
  },
  signal?: AbortSignal,
): BlobCopier {
  const stored: IndexedPack[] = [];
  const builders: Record<BlobType, PackBuilder> = {
    data: createPackBuilder(repo.keys, repo.store),
    tree: createPackBuilder(repo.keys, repo.store),
  };
  const flush = async (type: BlobType): Promise<void> => {
    if (builders[type].count === 0) return;
    const pack = await builders[type].finish();
    await pack.store(signal);
    stored.push({ packId: pack.id, entries: pack.entries });
  };
  return {
    async copy(e, packBytes) {
      await builders[e.type].add({
        id: e.id,
        type: e.type,
        encoded: packBytes.subarray(e.offset, e.offset + e.length),
        rawLength: e.rawLength,
      });
      if (builders[e.type].size >= repo.config.packSize) await flush(e.type);
    },
    async finish() {
      await flush('data');
      await flush('tree');
      return stored;
    },
    async discard() {
      await Promise.all([builders.data.discard(), builders.tree.discard()]);
    },
  };
}

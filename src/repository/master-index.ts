/**
 * The in-memory union of all index objects: blob id → where it is stored. Keyed by the id's
 * 32 raw bytes as a latin1 string (half the memory of hex).
 * @module
 */
import type { BlobType } from './blob-codec.ts';
import type { IndexedPack } from './index-file.ts';
import type { PackEntry } from './pack.ts';

/** Where a blob lives. */
export interface BlobLocation {
  readonly packId: string;
  readonly type: BlobType;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

/** Lookup of stored blobs. */
export interface MasterIndex {
  readonly size: number;
  has(id: Uint8Array): boolean;
  get(id: Uint8Array): BlobLocation | undefined;
  /** Adds a pack's entries; an id already present keeps its first location. */
  addPack(packId: string, entries: readonly PackEntry[]): void;
  /** Every pack named by any index object, with its entries. */
  packs(): ReadonlyMap<string, readonly PackEntry[]>;
}

/** The map key of a blob id. */
export function idKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
}

/** Builds a master index from decoded index objects. */
export function createMasterIndex(indexes: Iterable<readonly IndexedPack[]> = []): MasterIndex {
  const blobs = new Map<string, BlobLocation>();
  const packs = new Map<string, readonly PackEntry[]>();
  const index: MasterIndex = {
    get size() {
      return blobs.size;
    },
    has: (id) => blobs.has(idKey(id)),
    get: (id) => blobs.get(idKey(id)),
    addPack(packId, entries) {
      if (!packs.has(packId)) packs.set(packId, entries);
      for (const e of entries) {
        const key = idKey(e.id);
        if (!blobs.has(key)) {
          blobs.set(key, {
            packId,
            type: e.type,
            offset: e.offset,
            length: e.length,
            rawLength: e.rawLength,
          });
        }
      }
    },
    packs: () => packs,
  };
  for (const packsOfIndex of indexes) {
    for (const pack of packsOfIndex) index.addPack(pack.packId, pack.entries);
  }
  return index;
}

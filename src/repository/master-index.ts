/**
 * The in-memory union of all index objects: blob id → where it is stored.
 *
 * Flat, not an object per blob: the entries sit back to back in one buffer in the layout of
 * the index objects (45 bytes each, copied in a pack at a time), with a pack number beside
 * each, and an open-addressing table of entry numbers finds an id. Blob ids are keyed hashes,
 * so their first four bytes are already a uniform hash. About 77 bytes a blob (100,000 of them,
 * room to grow included) where maps of latin1 keys to location objects and of packs to entry
 * objects with a Buffer each took 440; and an index loads without an object per blob to create
 * or collect.
 * @module
 */
import type { BlobType } from './blob-codec.ts';
import { ENTRY, entryType, readEntry, writeEntry, type StoredPackEntries } from './index-file.ts';
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
  /** Distinct blobs. */
  readonly size: number;
  has(id: Uint8Array): boolean;
  get(id: Uint8Array): BlobLocation | undefined;
  /** Adds a pack's entries; an id already present keeps its first location. */
  addPack(packId: string, entries: readonly PackEntry[]): void;
  /** Adds the packs of an opened index object (see `openIndex`). */
  addStored(packs: readonly StoredPackEntries[]): void;
  hasPack(packId: string): boolean;
  /**
   * Every pack named by any index object, with its entries: all of them, when index objects list
   * one pack differently, since `get` resolves ids from any listing.
   */
  packs(): ReadonlyMap<string, readonly PackEntry[]>;
  /**
   * Ids of the index objects whose listings it holds: those it was built from (not a damaged one,
   * left out) and those written since from what was added (`addObject`). While every one of them
   * is in the store, every blob it held is indexed: index objects are never changed, and only
   * prune and repair delete them (see the folder memo).
   */
  readonly objects: ReadonlySet<string>;
  /** Notes that index object `id` was written, listing packs added with `addPack`. */
  addObject(id: string): void;
}

/** The map key of a blob id, for callers that keep sets of ids. */
export function idKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
}

/** Builds a master index from opened index objects, whose ids are `objects`. */
export function createMasterIndex(
  indexes: Iterable<readonly StoredPackEntries[]> = [],
  objects: Iterable<string> = [],
): MasterIndex {
  const objectIds = new Set(objects);
  let entries = Buffer.alloc(0); // ENTRY.bytes each
  let packOf = new Uint32Array(0); // pack number of each entry
  let count = 0; // entries held (a pack listed twice is held twice, found once)
  let table = new Uint32Array(1024); // entry number + 1; 0 = empty
  let distinct = 0;
  const packIds: string[] = [];
  const packNumbers = new Map<string, number>();
  const packRanges: { first: number; count: number }[][] = []; // each listing of each pack
  let listed: Map<string, readonly PackEntry[]> | undefined;

  /** Room for `more` entries. */
  const reserve = (more: number): void => {
    if (count + more <= packOf.length) return;
    const capacity = Math.max(1024, 2 * packOf.length, count + more);
    const grown = Buffer.allocUnsafe(capacity * ENTRY.bytes);
    entries.copy(grown, 0, 0, count * ENTRY.bytes);
    entries = grown;
    const grownPacks = new Uint32Array(capacity);
    grownPacks.set(packOf.subarray(0, count));
    packOf = grownPacks;
  };
  /** The slot in `within` that holds the id at `source[idAt]`, or the empty one it would take. */
  const slotOf = (source: Buffer, idAt: number, within: Uint32Array): number => {
    const mask = within.length - 1;
    const hash = source.readUInt32LE(idAt);
    let slot = hash & mask;
    for (;;) {
      const held = within[slot] ?? 0;
      if (held === 0) return slot;
      // The first four bytes tell most neighbours apart without a call into C++.
      const at = (held - 1) * ENTRY.bytes + ENTRY.id;
      if (
        entries.readUInt32LE(at) === hash &&
        entries.compare(source, idAt, idAt + 32, at, at + 32) === 0
      )
        return slot;
      slot = (slot + 1) & mask;
    }
  };
  /** The entry number of `id`, or -1. */
  const find = (id: Uint8Array): number => {
    const key = Buffer.from(id.buffer, id.byteOffset, id.byteLength);
    return (table[slotOf(key, 0, table)] ?? 0) - 1;
  };
  /** Room in the table for `more` ids at most half full, grown in one step (ids rehashed once). */
  const roomFor = (more: number): void => {
    let size = table.length;
    while (2 * (distinct + more) > size) size *= 2;
    if (size === table.length) return;
    const bigger = new Uint32Array(size);
    for (const held of table) {
      if (held === 0) continue;
      bigger[slotOf(entries, (held - 1) * ENTRY.bytes + ENTRY.id, bigger)] = held;
    }
    table = bigger;
  };
  /** Indexes entry `e` (already in `entries`) unless its id is there. */
  const insert = (e: number): void => {
    roomFor(1);
    const slot = slotOf(entries, e * ENTRY.bytes + ENTRY.id, table);
    if (table[slot] !== 0) return;
    table[slot] = e + 1;
    distinct++;
  };
  /** Registers `packId` for the `n` entries about to be added at `count`. */
  const beginPack = (packId: string, n: number): void => {
    listed = undefined;
    let p = packNumbers.get(packId);
    if (p === undefined) {
      p = packIds.length;
      packIds.push(packId);
      packNumbers.set(packId, p);
      packRanges.push([]);
    }
    packRanges[p]?.push({ first: count, count: n });
    reserve(n);
    packOf.fill(p, count, count + n);
  };
  const addEntries = (n: number): void => {
    const end = count + n;
    for (let e = count; e < end; e++) insert(e);
    count = end;
  };

  const index: MasterIndex = {
    get size() {
      return distinct;
    },
    has: (id) => find(id) >= 0,
    get(id) {
      const e = find(id);
      if (e < 0) return undefined;
      const at = e * ENTRY.bytes;
      return {
        packId: packIds[packOf[e] ?? 0] ?? '',
        type: entryType(entries, at),
        offset: entries.readUInt32LE(at + ENTRY.offset),
        length: entries.readUInt32LE(at + ENTRY.length),
        rawLength: entries.readUInt32LE(at + ENTRY.rawLength),
      };
    },
    addPack(packId, list) {
      beginPack(packId, list.length);
      for (let i = 0; i < list.length; i++)
        writeEntry(entries, (count + i) * ENTRY.bytes, list[i] as PackEntry);
      addEntries(list.length);
    },
    addStored(packs) {
      // Sized once for all of them: a session's index loads without growing step by step.
      const total = packs.reduce((n, p) => n + p.entries.length / ENTRY.bytes, 0);
      reserve(total);
      roomFor(total);
      for (const { packId, entries: stored } of packs) {
        const n = stored.length / ENTRY.bytes;
        beginPack(packId, n);
        stored.copy(entries, count * ENTRY.bytes);
        addEntries(n);
      }
    },
    hasPack: (packId) => packNumbers.has(packId),
    packs() {
      listed ??= new Map(
        packIds.map((packId, p) => {
          const listings = packRanges[p] ?? [];
          const list: PackEntry[] = [];
          // A pack listed more than once is normally listed the same each time: an entry is kept
          // once, whichever listing holds it.
          const seen = listings.length > 1 ? new Set<string>() : undefined;
          for (const { first, count: n } of listings)
            for (let e = first; e < first + n; e++) {
              const at = e * ENTRY.bytes;
              if (seen) {
                const key = entries.toString('latin1', at, at + ENTRY.bytes);
                if (seen.has(key)) continue;
                seen.add(key);
              }
              list.push(readEntry(entries, at));
            }
          return [packId, list];
        }),
      );
      return listed;
    },
    objects: objectIds,
    addObject: (id) => void objectIds.add(id),
  };
  index.addStored([...indexes].flat());
  return index;
}

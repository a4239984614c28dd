/**
 * Index objects: which blobs each pack holds and where. Binary, zstd-compressed, then sealed;
 * stored as `index/<sha256>`. Many index objects may exist and may overlap; readers take their
 * union. Layout of the plaintext: `"HBRI" version(1) packCount(u32)` then per pack
 * `packId(32) count(u32)` and per blob `type(1) id(32) offset(u32) length(u32) rawLength(u32)`.
 * @module
 */
import { IntegrityError } from '../errors.ts';
import { BLOB_TYPE_CODE, type BlobType } from './blob-codec.ts';
import { compress, decompress } from './compression.ts';
import { openObject, sealObject, sha256Hex, type RepositoryKeys } from './crypto.ts';
import type { Store } from '../stores/types.ts';
import type { PackEntry } from './pack.ts';

/** The blobs of one pack. */
export interface IndexedPack {
  readonly packId: string;
  readonly entries: readonly PackEntry[];
}

/** One pack's entries as stored: `ENTRY.bytes` each, back to back. */
export interface StoredPackEntries {
  readonly packId: string;
  readonly entries: Buffer;
}

const MAGIC = 'HBRI';

const INDEX_ID = /^[0-9a-f]{64}$/;

/**
 * Whether `name` is an index id (the SHA-256 of its object, in hex): an object under `index/` of
 * any other name is no index object, whatever it holds (a note, a tool's leftover), and neither
 * read nor deleted.
 */
export function isIndexId(name: string): boolean {
  return INDEX_ID.test(name);
}
/** Where an entry's fields are, in an index object and in the master index alike. */
export const ENTRY = { bytes: 1 + 32 + 12, id: 1, offset: 33, length: 37, rawLength: 41 } as const;
/** Index objects larger than this (plaintext) are refused as implausible. */
const MAX_INDEX_BYTES = 1 << 30;

/** Packs listed by one index object that prune and repair write, at most. */
const PACKS_PER_OBJECT = 4096;

/**
 * Stores `packs` as new index objects of at most {@link PACKS_PER_OBJECT} packs each (one at
 * least, empty if need be), as prune and repair write a fresh index; returns their ids.
 */
export async function storeIndexObjects(
  store: Store,
  keys: RepositoryKeys,
  packs: readonly IndexedPack[],
  signal?: AbortSignal,
): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let i = 0; i < packs.length || i === 0; i += PACKS_PER_OBJECT) {
    const { id, bytes } = encodeIndex(keys, packs.slice(i, i + PACKS_PER_OBJECT));
    await store.put(`index/${id}`, bytes, { signal });
    ids.add(id);
  }
  return ids;
}

/** Serialises packs into a sealed index object; returns its name and bytes. */
export function encodeIndex(
  keys: RepositoryKeys,
  packs: readonly IndexedPack[],
): { id: string; bytes: Buffer } {
  const size = 9 + packs.reduce((sum, p) => sum + 36 + p.entries.length * ENTRY.bytes, 0);
  const plain = Buffer.alloc(size);
  plain.write(MAGIC, 0, 'latin1');
  plain[4] = 1;
  plain.writeUInt32LE(packs.length, 5);
  let at = 9;
  for (const pack of packs) {
    plain.write(pack.packId, at, 'hex');
    plain.writeUInt32LE(pack.entries.length, at + 32);
    at += 36;
    for (const e of pack.entries) {
      writeEntry(plain, at, e);
      at += ENTRY.bytes;
    }
  }
  const packed = Buffer.alloc(4);
  packed.writeUInt32LE(plain.length, 0);
  const bytes = sealObject(keys, 'index', Buffer.concat([packed, compress(plain, 3)]));
  return { id: sha256Hex(bytes), bytes };
}

/**
 * Opens a sealed index object, leaving each pack's entries in their stored layout: the master
 * index takes them as they are, without an object per blob.
 * @throws IntegrityError when it is damaged or does not match its name.
 */
export function openIndex(
  keys: RepositoryKeys,
  indexId: string,
  bytes: Buffer,
): StoredPackEntries[] {
  const what = `index ${indexId}`;
  if (sha256Hex(bytes) !== indexId) throw new IntegrityError(`${what}: does not match its name`);
  const opened = openObject(keys, 'index', bytes, what);
  // Authentic but malformed plaintext (written by a key holder) is damage like any other: a
  // RangeError here would escape the callers that skip damaged index objects.
  if (opened.length < 4) throw new IntegrityError(`${what}: truncated`);
  const rawLength = opened.readUInt32LE(0);
  if (rawLength > MAX_INDEX_BYTES) throw new IntegrityError(`${what}: implausible size`);
  const plain = decompress(opened.subarray(4), rawLength);
  if (plain.length < 9 || plain.toString('latin1', 0, 4) !== MAGIC || plain[4] !== 1) {
    throw new IntegrityError(`${what}: unknown format`);
  }
  const packs: StoredPackEntries[] = [];
  const packCount = plain.readUInt32LE(5);
  let at = 9;
  for (let p = 0; p < packCount; p++) {
    if (at + 36 > plain.length) throw new IntegrityError(`${what}: truncated`);
    const packId = plain.toString('hex', at, at + 32);
    const end = at + 36 + plain.readUInt32LE(at + 32) * ENTRY.bytes;
    if (end > plain.length) throw new IntegrityError(`${what}: truncated`);
    packs.push({ packId, entries: plain.subarray(at + 36, end) });
    at = end;
  }
  if (at !== plain.length) throw new IntegrityError(`${what}: trailing bytes`);
  return packs;
}

/** Writes one entry at `at`. */
export function writeEntry(target: Buffer, at: number, e: PackEntry): void {
  target[at] = BLOB_TYPE_CODE[e.type];
  e.id.copy(target, at + ENTRY.id);
  target.writeUInt32LE(e.offset, at + ENTRY.offset);
  target.writeUInt32LE(e.length, at + ENTRY.length);
  target.writeUInt32LE(e.rawLength, at + ENTRY.rawLength);
}

/** The blob type of the entry at `at`. */
export function entryType(source: Buffer, at: number): BlobType {
  return source[at] === BLOB_TYPE_CODE.tree ? 'tree' : 'data';
}

/** Reads the entry at `at` (its id copied out). */
export function readEntry(source: Buffer, at: number): PackEntry {
  return {
    type: entryType(source, at),
    id: Buffer.from(source.subarray(at + ENTRY.id, at + ENTRY.id + 32)),
    offset: source.readUInt32LE(at + ENTRY.offset),
    length: source.readUInt32LE(at + ENTRY.length),
    rawLength: source.readUInt32LE(at + ENTRY.rawLength),
  };
}

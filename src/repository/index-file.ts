/**
 * Index objects: which blobs each pack holds and where. Binary, zstd-compressed, then sealed;
 * stored as `index/<sha256>`. Many index objects may exist and may overlap; readers take their
 * union. Layout of the plaintext: `"HBRI" version(1) packCount(u32)` then per pack
 * `packId(32) count(u32)` and per blob `type(1) id(32) offset(u32) length(u32) rawLength(u32)`.
 * @module
 */
import { IntegrityError } from '../errors.ts';
import { BLOB_TYPE_CODE } from './blob-codec.ts';
import { compress, decompress } from './compression.ts';
import { openObject, sealObject, sha256Hex, type RepositoryKeys } from './crypto.ts';
import type { PackEntry } from './pack.ts';

/** The blobs of one pack. */
export interface IndexedPack {
  readonly packId: string;
  readonly entries: readonly PackEntry[];
}

const MAGIC = 'HBRI';
const ENTRY = 1 + 32 + 12;
/** Index objects larger than this (plaintext) are refused as implausible. */
const MAX_INDEX_BYTES = 1 << 30;

/** Serialises packs into a sealed index object; returns its name and bytes. */
export function encodeIndex(
  keys: RepositoryKeys,
  packs: readonly IndexedPack[],
): { id: string; bytes: Buffer } {
  const size = 9 + packs.reduce((sum, p) => sum + 36 + p.entries.length * ENTRY, 0);
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
      plain[at] = BLOB_TYPE_CODE[e.type];
      e.id.copy(plain, at + 1);
      plain.writeUInt32LE(e.offset, at + 33);
      plain.writeUInt32LE(e.length, at + 37);
      plain.writeUInt32LE(e.rawLength, at + 41);
      at += ENTRY;
    }
  }
  const packed = Buffer.alloc(4);
  packed.writeUInt32LE(plain.length, 0);
  const bytes = sealObject(keys, 'index', Buffer.concat([packed, compress(plain, 3)]));
  return { id: sha256Hex(bytes), bytes };
}

/**
 * Parses a sealed index object.
 * @throws IntegrityError when it is damaged or does not match its name.
 */
export function decodeIndex(keys: RepositoryKeys, indexId: string, bytes: Buffer): IndexedPack[] {
  const what = `index ${indexId}`;
  if (sha256Hex(bytes) !== indexId) throw new IntegrityError(`${what}: does not match its name`);
  const opened = openObject(keys, 'index', bytes, what);
  const rawLength = opened.readUInt32LE(0);
  if (rawLength > MAX_INDEX_BYTES) throw new IntegrityError(`${what}: implausible size`);
  const plain = decompress(opened.subarray(4), rawLength);
  if (plain.toString('latin1', 0, 4) !== MAGIC || plain[4] !== 1) {
    throw new IntegrityError(`${what}: unknown format`);
  }
  const packs: IndexedPack[] = [];
  const packCount = plain.readUInt32LE(5);
  let at = 9;
  for (let p = 0; p < packCount; p++) {
    const packId = plain.toString('hex', at, at + 32);
    const count = plain.readUInt32LE(at + 32);
    at += 36;
    const entries: PackEntry[] = [];
    for (let i = 0; i < count; i++, at += ENTRY) {
      entries.push({
        type: plain[at] === BLOB_TYPE_CODE.tree ? 'tree' : 'data',
        id: Buffer.from(plain.subarray(at + 1, at + 33)),
        offset: plain.readUInt32LE(at + 33),
        length: plain.readUInt32LE(at + 37),
        rawLength: plain.readUInt32LE(at + 41),
      });
    }
    packs.push({ packId, entries });
  }
  if (at !== plain.length) throw new IntegrityError(`${what}: trailing bytes`);
  return packs;
}

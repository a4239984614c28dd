/**
 * Pack files: `blob1 || … || blobN || sealed header || header length (u32 LE)`. The header at the
 * end lets a writer stream blobs without knowing the layout in advance; every blob is sealed on
 * its own, so repacking copies bytes without re-encrypting. A pack is named by the SHA-256 of its
 * bytes and stored under `data/<first two hex>/<name>`.
 * @module
 */
import { IntegrityError } from '../errors.ts';
import type { Store } from '../stores/types.ts';
import { BLOB_TYPE_CODE, type BlobType, type EncodedBlob } from './blob-codec.ts';
import { sha256OfShared, sharedBuffer } from './codec-pool.ts';
import { openObject, sealObject, sha256Hex, type RepositoryKeys } from './crypto.ts';

/** Where one blob sits inside a pack. */
export interface PackEntry {
  readonly id: Buffer;
  readonly type: BlobType;
  readonly offset: number;
  /** Stored (encoded) length. */
  readonly length: number;
  /** Plaintext length. */
  readonly rawLength: number;
}

/** A finished pack: its name, bytes and contents. */
export interface FinishedPack {
  readonly id: string;
  readonly bytes: Buffer;
  readonly entries: readonly PackEntry[];
  /**
   * Hands `bytes` back to the builder for its next pack; call it once the bytes are stored and
   * not before (optional: a pack never released is simply garbage-collected).
   */
  release(): void;
}

const ENTRY_SIZE = 1 + 32 + 4 + 4;

/** The store key of a pack. */
export function packKey(packId: string): string {
  return `data/${packId.slice(0, 2)}/${packId}`;
}

/** Collects encoded blobs into one pack in memory. */
export interface PackBuilder {
  readonly size: number;
  readonly count: number;
  /** Copies the blob's bytes into the pack: the caller may drop or reuse `blob.encoded` after. */
  add(blob: EncodedBlob): void;
  /**
   * Seals the pack and resolves with it once named. The builder starts the next pack at once:
   * `add` may be called again before this resolves.
   */
  finish(): Promise<FinishedPack>;
}

/**
 * Starts an empty pack. Blobs are copied into one growing buffer in memory shared with the codec
 * workers, so that one of them names the finished pack (its SHA-256) while this thread fills the
 * next; buffers handed back with `release` are reused, since fresh memory is slow on first touch.
 * @param capacity - bytes to allocate up front (e.g. the target pack size plus one blob).
 */
export function createPackBuilder(
  keys: RepositoryKeys,
  options: { capacity?: number } = {},
): PackBuilder {
  const initial = options.capacity ?? 1024 * 1024;
  const spare: Buffer[] = [];
  let buffer: Buffer | undefined;
  let entries: PackEntry[] = [];
  let size = 0;
  const reserve = (more: number): Buffer => {
    buffer ??= spare.pop() ?? sharedBuffer(Math.max(initial, more));
    if (size + more > buffer.length) {
      // Past the capacity (prune's small start, or one blob larger than a pack): double.
      const grown = sharedBuffer(Math.max(size + more, buffer.length * 2));
      buffer.copy(grown, 0, 0, size);
      buffer = grown;
    }
    return buffer;
  };
  const append = (bytes: Uint8Array): void => {
    reserve(bytes.length).set(bytes, size);
    size += bytes.length;
  };
  return {
    get size() {
      return size;
    },
    get count() {
      return entries.length;
    },
    add(blob) {
      entries.push({
        id: blob.id,
        type: blob.type,
        offset: size,
        length: blob.encoded.length,
        rawLength: blob.rawLength,
      });
      append(blob.encoded);
    },
    async finish() {
      const header = Buffer.alloc(4 + entries.length * ENTRY_SIZE);
      header.writeUInt32LE(entries.length, 0);
      let at = 4;
      for (const entry of entries) {
        header[at] = BLOB_TYPE_CODE[entry.type];
        entry.id.copy(header, at + 1);
        header.writeUInt32LE(entry.length, at + 33);
        header.writeUInt32LE(entry.rawLength, at + 37);
        at += ENTRY_SIZE;
      }
      const sealed = sealObject(keys, 'pack-header', header);
      const length = Buffer.alloc(4);
      length.writeUInt32LE(sealed.length, 0);
      append(sealed);
      append(length);
      const whole = reserve(0);
      const bytes = whole.subarray(0, size);
      const packed = entries;
      buffer = undefined;
      entries = [];
      size = 0;
      let released = false;
      return {
        id: await sha256OfShared(bytes),
        bytes,
        entries: packed,
        release: () => {
          if (released) return;
          released = true;
          if (whole.length <= initial * 2) spare.push(whole);
        },
      };
    },
  };
}

/**
 * Parses the header at the end of a pack's bytes (whole pack in memory, as `check --read-data`
 * and prune's repacking have it).
 * @throws IntegrityError when the trailer or header is damaged.
 */
export function parsePack(keys: RepositoryKeys, packId: string, bytes: Buffer): PackEntry[] {
  const what = `pack ${packId}`;
  if (bytes.length < 4) throw new IntegrityError(`${what}: truncated (${bytes.length} bytes)`);
  const headerLength = bytes.readUInt32LE(bytes.length - 4);
  if (headerLength + 4 > bytes.length) {
    throw new IntegrityError(
      `${what}: header length ${headerLength} exceeds the pack (truncated?)`,
    );
  }
  const sealed = bytes.subarray(bytes.length - 4 - headerLength, bytes.length - 4);
  const entries = _parseHeader(keys, sealed, what);
  const offset = entries.reduce((sum, e) => sum + e.length, 0);
  if (offset + headerLength + 4 !== bytes.length) {
    throw new IntegrityError(`${what}: blobs and header do not add up to the pack's size`);
  }
  return entries;
}

/** Reads a whole pack from the store and checks it against its name. */
export async function readPack(
  store: Store,
  packId: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  const bytes = await store.get(packKey(packId), { signal });
  if (sha256Hex(bytes) !== packId) {
    throw new IntegrityError(
      `pack ${packId}: content does not match its name (damaged or truncated)`,
    );
  }
  return bytes;
}

/**
 * Reads only a pack's header, with two ranged reads of its tail: how interrupted backups'
 * packs, never indexed, are found again and reused.
 * @throws IntegrityError when the header is damaged or does not fit the pack's size.
 */
export async function readPackHeader(
  store: Store,
  keys: RepositoryKeys,
  packId: string,
  size: number,
): Promise<PackEntry[]> {
  const what = `pack ${packId}`;
  if (size < 4) throw new IntegrityError(`${what}: truncated (${size} bytes)`);
  const tail = await store.get(packKey(packId), { range: { offset: size - 4, length: 4 } });
  const headerLength = tail.readUInt32LE(0);
  if (headerLength + 4 > size) throw new IntegrityError(`${what}: header length exceeds the pack`);
  const sealed = await store.get(packKey(packId), {
    range: { offset: size - 4 - headerLength, length: headerLength },
  });
  const entries = _parseHeader(keys, sealed, what);
  const end = entries.reduce((sum, e) => sum + e.length, 0);
  if (end + headerLength + 4 !== size) {
    throw new IntegrityError(`${what}: blobs and header do not add up to the pack's size`);
  }
  return entries;
}

// --- internal ---

function _parseHeader(keys: RepositoryKeys, sealed: Buffer, what: string): PackEntry[] {
  const header = openObject(keys, 'pack-header', sealed, `${what} header`);
  const count = header.readUInt32LE(0);
  if (header.length !== 4 + count * ENTRY_SIZE) {
    throw new IntegrityError(`${what}: header of ${header.length} bytes for ${count} blobs`);
  }
  const entries: PackEntry[] = [];
  let offset = 0;
  for (let i = 0, at = 4; i < count; i++, at += ENTRY_SIZE) {
    const length = header.readUInt32LE(at + 33);
    entries.push({
      type: header[at] === BLOB_TYPE_CODE.tree ? 'tree' : 'data',
      id: Buffer.from(header.subarray(at + 1, at + 33)),
      offset,
      length,
      rawLength: header.readUInt32LE(at + 37),
    });
    offset += length;
  }
  return entries;
}

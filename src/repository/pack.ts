/**
 * Pack files: `blob1 || … || blobN || sealed header || header length (u32 LE)`. The header at the
 * end lets a writer stream blobs without knowing the layout in advance; every blob is sealed on
 * its own, so repacking copies bytes without re-encrypting. A pack is named by the SHA-256 of its
 * bytes and stored under `data/<first two hex>/<name>`.
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { IntegrityError } from '../errors.ts';
import type { ObjectWriter, Store } from '../stores/types.ts';
import { BLOB_TYPE_CODE, type BlobType, type EncodedBlob } from './blob-codec.ts';
import { sha256OfShared, sharedBuffer } from './codec-pool.ts';
import {
  SEAL_OVERHEAD,
  openObject,
  sealObject,
  sha256HexStaged,
  type RepositoryKeys,
} from './crypto.ts';
import { copyBytes } from '../util/copy-bytes.ts';

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

/** A finished pack: its name and contents, ready to be stored. */
export interface FinishedPack {
  readonly id: string;
  readonly entries: readonly PackEntry[];
  /** Bytes of the whole pack, header included. */
  readonly size: number;
  /** Stores the pack under {@link packKey}; its builder reuses its memory after. Call once. */
  store(signal?: AbortSignal): Promise<void>;
}

const ENTRY_SIZE = 1 + 32 + 4 + 4;

/** The store key of a pack. */
export function packKey(packId: string): string {
  return `data/${packId.slice(0, 2)}/${packId}`;
}

/** The packs in a store, and the other objects under `data/` (see {@link listStoredPacks}). */
export interface StoredPacks {
  /** Each pack's size, by pack id. */
  readonly packs: Map<string, number>;
  /** Keys under `data/` that are no pack's key: not a pack id, or not in its id's folder. */
  readonly strays: readonly string[];
}

const PACK_ID = /^[0-9a-f]{64}$/;

/** Whether `name` is a pack id (the SHA-256 of its bytes, in hex). */
export function isPackId(name: string): boolean {
  return PACK_ID.test(name);
}

/**
 * One listing of `data/`, for check, prune and recovery alike: a pack is read only at its own
 * key, so an object anywhere else (a copy into the wrong folder, a tool's leftover) is no pack
 * of this repository, whatever its name.
 */
export async function listStoredPacks(store: Store, signal?: AbortSignal): Promise<StoredPacks> {
  const packs = new Map<string, number>();
  const strays: string[] = [];
  for await (const { key, size } of store.list('data/', signal ? { signal } : {})) {
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (isPackId(name) && key === packKey(name)) packs.set(name, size);
    else strays.push(key);
  }
  return { packs, strays };
}

/**
 * The least size of a pack holding `entries` (as an index lists them): past the end of its last
 * blob, a header of at least one entry per blob, sealed, and the header's length. A pack of the
 * store shorter than this was cut short. Its exact size is not known from an index, which need
 * not list every blob of a pack.
 */
export function leastPackSize(entries: readonly PackEntry[]): number {
  // Not Math.max(...): a pack of many tiny blobs has more entries than a call takes arguments.
  const end = entries.reduce((most, e) => Math.max(most, e.offset + e.length), 0);
  // Blobs at distinct offsets are distinct entries of the header (no blob is empty: it is sealed).
  const blobs = new Set(entries.map((e) => e.offset)).size;
  return end + SEAL_OVERHEAD + 4 + blobs * ENTRY_SIZE + 4;
}

/**
 * The bytes of a pack of `size` that `entries` (as the index lists them) do not account for: none
 * when they list every blob, else those of the blobs left out and their header entries. Recovery
 * lists only the blobs that verify of a pack no index named, and the rest is dead space.
 */
export function unlistedBytes(entries: readonly PackEntry[], size: number): number {
  const lengths = new Map(entries.map((e) => [e.offset, e.length]));
  let listed = SEAL_OVERHEAD + 4 + lengths.size * ENTRY_SIZE + 4;
  for (const length of lengths.values()) listed += length;
  return Math.max(0, size - listed);
}

/** Collects encoded blobs into one pack. */
export interface PackBuilder {
  readonly size: number;
  readonly count: number;
  /**
   * Appends the blob to the pack; resolves once its bytes are copied (the caller may drop or
   * reuse `blob.encoded` then, not before). Blobs land in the order of the calls.
   */
  add(blob: EncodedBlob): Promise<void>;
  /**
   * Seals the pack and resolves with it once named. The builder starts the next pack at once:
   * `add` may be called again before this resolves.
   */
  finish(): Promise<FinishedPack>;
  /** Gives up the pack being filled (a backup that stops): nothing of it is stored. */
  discard(): Promise<void>;
}

/**
 * Starts an empty pack for `store`. Where the store writes objects as they come (a local disk:
 * `Store.createWriter`), each blob is written out as it is added and hashed on this thread,
 * and nothing of a pack is held in memory (see {@link streamingPackBuilder}); elsewhere the pack
 * is gathered in memory and put whole ({@link bufferedPackBuilder}).
 * @param capacity - for a pack gathered in memory: bytes to allocate up front (e.g. the target
 *   pack size plus one blob).
 */
export function createPackBuilder(
  keys: RepositoryKeys,
  store: Store,
  options: { capacity?: number } = {},
): PackBuilder {
  return store.createWriter
    ? streamingPackBuilder(keys, (o) => store.createWriter!(o))
    : bufferedPackBuilder(keys, store, options.capacity ?? 1024 * 1024);
}

/**
 * A pack written to the store blob by blob. A first backup of the benchmark fills 1.2 GB of
 * packs: gathered in memory, each byte was copied twice on this thread (into the pack, then
 * into the store's aligned pieces), and up to three 16 MiB packs (one filling, two being
 * written) sat in the process's peak memory, 50-60 MB of it; a version-2 backup, filling two
 * packs, faulted in their fresh pages. Hashing here costs about what those copies did, and a
 * codec worker no longer does it.
 */
export function streamingPackBuilder(
  keys: RepositoryKeys,
  createWriter: NonNullable<Store['createWriter']>,
): PackBuilder {
  const startPack = (): _StreamedPack => ({
    hash: createHash('sha256'),
    entries: [],
    size: 0,
    written: Promise.resolve(),
  });
  /**
   * Writes `bytes` after the pack's earlier writes, then hashes them. After: a blob lies in a codec
   * worker's slot, written by another core, and SHA-256 reads such memory at about 1.1 GB/s here;
   * the writer's copy (into its aligned pieces) brings it into this core's cache, where it runs
   * at 1.6-1.7 (a micro, 128 MiB in 1 MiB pieces: hashed then copied 130 ms, copied then hashed
   * 94). First backups of the benchmark: 6.07-6.44 s against 6.18-6.47 (6 of 6 pairs).
   */
  const write = (pack: _StreamedPack, bytes: Uint8Array): Promise<void> => {
    const opened = (pack.writer ??= createWriter());
    pack.written = pack.written.then(async () => {
      await (await opened).write(bytes);
      pack.hash.update(bytes);
    });
    return pack.written;
  };
  let pack = startPack();
  return {
    get size() {
      return pack.size;
    },
    get count() {
      return pack.entries.length;
    },
    add(blob) {
      pack.entries.push(_entry(blob, pack.size));
      pack.size += blob.encoded.length;
      return write(pack, blob.encoded);
    },
    finish() {
      const done = pack;
      pack = startPack();
      const trailer = _trailer(keys, done.entries);
      const last = write(done, trailer);
      // Named once every byte is hashed; a failed write fails `store`, which awaits it.
      return last
        .catch(() => undefined)
        .then(() => {
          const id = done.hash.digest('hex');
          let stored = false;
          return {
            id,
            entries: done.entries,
            size: done.size + trailer.length,
            async store(signal?: AbortSignal) {
              if (stored) throw new Error(`pack ${id} stored twice`);
              stored = true;
              const writer = await done.writer!; // the trailer's write opened it
              try {
                await last;
              } catch (error) {
                await writer.abort();
                throw error;
              }
              await writer.commit(packKey(id), { signal });
            },
          };
        });
    },
    async discard() {
      const done = pack;
      pack = startPack();
      await done.written.catch(() => undefined);
      await (await done.writer?.catch(() => undefined))?.abort();
    },
  };
}

/**
 * A pack gathered in memory, then put whole. Blobs are copied into one growing buffer in memory
 * shared with the codec workers, so that one of them names the finished pack (its SHA-256)
 * while this thread fills the next; a buffer is reused once its pack is stored, since fresh
 * memory is slow on first touch.
 */
export function bufferedPackBuilder(
  keys: RepositoryKeys,
  store: Store,
  capacity: number,
): PackBuilder {
  const spare: Buffer[] = [];
  let buffer: Buffer | undefined;
  let entries: PackEntry[] = [];
  let size = 0;
  const reserve = (more: number): Buffer => {
    buffer ??= spare.pop() ?? sharedBuffer(Math.max(capacity, more));
    if (size + more > buffer.length) {
      // Past the capacity (prune's small start, or one blob larger than a pack): double.
      const grown = sharedBuffer(Math.max(size + more, buffer.length * 2));
      copyBytes(buffer.subarray(0, size), grown);
      buffer = grown;
    }
    return buffer;
  };
  const append = (bytes: Uint8Array): void => {
    size += copyBytes(bytes, reserve(bytes.length), size);
  };
  return {
    get size() {
      return size;
    },
    get count() {
      return entries.length;
    },
    add(blob) {
      entries.push(_entry(blob, size));
      append(blob.encoded);
      return Promise.resolve();
    },
    async finish() {
      append(_trailer(keys, entries));
      const whole = reserve(0);
      const bytes = whole.subarray(0, size);
      const packed = entries;
      buffer = undefined;
      entries = [];
      size = 0;
      const id = await sha256OfShared(bytes);
      let stored = false;
      return {
        id,
        entries: packed,
        size: bytes.length,
        async store(signal) {
          if (stored) throw new Error(`pack ${id} stored twice`);
          stored = true;
          await store.put(packKey(id), bytes, { signal });
          if (whole.length <= capacity * 2) spare.push(whole);
        },
      };
    },
    discard() {
      buffer = undefined;
      entries = [];
      size = 0;
      return Promise.resolve();
    },
  };
}

/**
 * Parses the header at the end of a pack's bytes (whole pack in memory, as `check --read-data`,
 * `repair` and prune's repacking have it).
 * @throws IntegrityError when the trailer or header is damaged.
 */
export function parsePack(keys: RepositoryKeys, packId: string, bytes: Buffer): PackEntry[] {
  const what = `pack ${packId}`;
  _refuseTruncated(what, bytes.length);
  const headerLength = _headerLength(what, bytes.length, bytes.subarray(bytes.length - 4));
  const sealed = bytes.subarray(bytes.length - 4 - headerLength, bytes.length - 4);
  return _entriesOf(keys, what, sealed, bytes.length);
}

/**
 * Reads only the header of a pack of `size` bytes in the store (two short ranged reads: its
 * length, then the header) and parses it, as {@link parsePack} does the whole pack's.
 * @throws IntegrityError when the trailer or header is damaged; what a read of the store throws.
 */
export async function readPackHeader(
  store: Store,
  keys: RepositoryKeys,
  packId: string,
  size: number,
  signal?: AbortSignal,
): Promise<PackEntry[]> {
  const what = `pack ${packId}`;
  _refuseTruncated(what, size);
  const key = packKey(packId);
  const trailer = await store.get(key, { range: { offset: size - 4, length: 4 }, signal });
  const headerLength = _headerLength(what, size, trailer);
  const range = { offset: size - 4 - headerLength, length: headerLength };
  return _entriesOf(keys, what, await store.get(key, { range, signal }), size);
}

/** Reads a whole pack from the store and checks it against its name. */
export async function readPack(
  store: Store,
  packId: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  const bytes = await store.get(packKey(packId), { signal });
  if (sha256HexStaged(bytes) !== packId) {
    throw new IntegrityError(
      `pack ${packId}: content does not match its name (damaged or truncated)`,
    );
  }
  return bytes;
}

// --- internal ---

/** A pack of {@link streamingPackBuilder} being filled. */
interface _StreamedPack {
  readonly hash: Hash;
  readonly entries: PackEntry[];
  size: number;
  /** Opened at the first write. */
  writer?: Promise<ObjectWriter>;
  /** The last write: each waits for the one before. */
  written: Promise<void>;
}

function _entry(blob: EncodedBlob, offset: number): PackEntry {
  return {
    id: blob.id,
    type: blob.type,
    offset,
    length: blob.encoded.length,
    rawLength: blob.rawLength,
  };
}

/** The sealed header listing `entries`, and its length: what ends a pack. */
function _trailer(keys: RepositoryKeys, entries: readonly PackEntry[]): Buffer {
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
  const trailer = Buffer.alloc(sealed.length + 4);
  sealed.copy(trailer);
  trailer.writeUInt32LE(sealed.length, sealed.length);
  return trailer;
}

/** Refuses a pack too short to hold its header's length. */
function _refuseTruncated(what: string, size: number): void {
  if (size < 4) throw new IntegrityError(`${what}: truncated (${size} bytes)`);
}

/** The length of the sealed header a pack of `size` bytes ends with, from its last 4 bytes. */
function _headerLength(what: string, size: number, trailer: Buffer): number {
  const headerLength = trailer.readUInt32LE(0);
  if (headerLength + 4 > size) {
    throw new IntegrityError(
      `${what}: header length ${headerLength} exceeds the pack (truncated?)`,
    );
  }
  return headerLength;
}

/** The entries of a pack's sealed header, checked to add up to the pack's `size` with it. */
function _entriesOf(keys: RepositoryKeys, what: string, sealed: Buffer, size: number): PackEntry[] {
  const entries = _parseHeader(keys, sealed, what);
  if (entries.reduce((sum, e) => sum + e.length, 0) + sealed.length + 4 !== size) {
    throw new IntegrityError(`${what}: blobs and header do not add up to the pack's size`);
  }
  return entries;
}

function _parseHeader(keys: RepositoryKeys, sealed: Buffer, what: string): PackEntry[] {
  const header = openObject(keys, 'pack-header', sealed, `${what} header`);
  if (header.length < 4) throw new IntegrityError(`${what}: header of ${header.length} bytes`);
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

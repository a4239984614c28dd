/**
 * The write path for blobs: deduplicate against the index and this session, encode, gather into
 * packs, upload packs with bounded concurrency, and write an index object every few packs so an
 * interrupted backup's uploads are found and reused by the next one.
 * @module
 */
import pLimit from 'p-limit';
import type { Store } from '../stores/types.ts';
import { settleAll } from '../util/settle-all.ts';
import type { BlobType, CompressionPolicy } from './blob-codec.ts';
import {
  hashFileRanges,
  identifyBlob,
  identifyFileRange,
  identifyRingChunk,
  readFileBlob,
  slotReady,
  type FileBlob,
  type HeldBlob,
  type RingChunk,
} from './codec-pool.ts';
import type { RepositoryKeys } from './crypto.ts';
import { encodeIndex, type IndexedPack } from './index-file.ts';
import { idKey, type MasterIndex } from './master-index.ts';
import { createPackBuilder, type PackBuilder } from './pack.ts';

/** Totals of what a saver stored. */
export interface SaverStats {
  /** Blobs that were new to the repository. */
  newBlobs: number;
  /** Blobs found already stored (deduplicated). */
  knownBlobs: number;
  /** Plaintext bytes of new blobs. */
  newRawBytes: number;
  /** Encoded bytes added to the repository: packs including headers, and index objects. */
  addedBytes: number;
}

/** Stores blobs for one backup session. */
export interface BlobSaver {
  readonly stats: Readonly<SaverStats>;
  /**
   * Stores a blob unless it is already stored; resolves with its id once it is safe to refer to
   * it in a tree. `plaintext` is copied before this returns: the caller may reuse it at once.
   */
  save(type: BlobType, plaintext: Buffer, signal?: AbortSignal): Promise<Buffer>;
  /**
   * Stores the `length` bytes at `position` of the open file `fd` as a data blob, which a worker
   * reads there (see `identifyFileRange`). Resolves with the blob's id and length: shorter when
   * the file shrank meanwhile, no id when nothing was left there.
   */
  saveRange(
    fd: number,
    position: number,
    length: number,
    options?: { signal?: AbortSignal },
  ): Promise<{ id?: Buffer; length: number }>;
  /**
   * Stores consecutive ranges of the open file `fd`, from `position`, of these `lengths`, as
   * `saveRange` each: for chunks mostly stored already. One worker hashes them all in one
   * request, keeping none (see `hashFileRanges`), and only the new ones are read again, hashed
   * and stored; each is stored as that second read found it. Per range, as `saveRange`.
   * `onHashed` is called once the ranges are hashed, before the new ones are stored.
   */
  saveRanges(
    fd: number,
    position: number,
    lengths: readonly number[],
    options?: { signal?: AbortSignal; onHashed?: () => void },
  ): Promise<{ id?: Buffer; length: number }[]>;
  /**
   * Stores a chunk of a file read once into a cut's ring (see `cutFileAway`) as a data blob, which
   * a worker copies out of the ring (see `identifyRingChunk`). Resolves with its id and length.
   */
  saveRingChunk(chunk: RingChunk, signal?: AbortSignal): Promise<{ id: Buffer; length: number }>;
  /**
   * Resolves when `save` of a `length`-byte blob would copy it once, into shared memory (see
   * `slotReady`); `undefined` when it would now.
   */
  ready(length: number): Promise<void> | undefined;
  /**
   * Reads a file of at most `maxSize` bytes and stores it as one data blob, the reading, hashing
   * and encoding done on a codec worker (see `readFileBlob`). `id` is absent when nothing was
   * stored: the file is empty, or grew past `maxSize` (the caller reads it another way).
   */
  saveFile(
    path: string,
    maxSize: number,
    signal?: AbortSignal,
  ): Promise<Omit<FileBlob, 'held'> & { id?: Buffer }>;
  /** Uploads the open packs and writes the index for everything saved so far; saving may go on after. */
  flush(signal?: AbortSignal): Promise<void>;
  /**
   * Gives up the packs being filled (a backup that stops): nothing of them is stored. Packs
   * already sealed are stored (`indexStored` then indexes them).
   */
  discard(): Promise<void>;
  /** Writes the index of the packs stored that no index object names yet, as `flush` does. */
  indexStored(signal?: AbortSignal): Promise<void>;
}

/** Options of {@link createBlobSaver}. */
export interface BlobSaverOptions {
  readonly store: Store;
  readonly keys: RepositoryKeys;
  readonly index: MasterIndex;
  readonly packSize: number;
  readonly compression: CompressionPolicy;
  /**
   * Packs uploading at once (besides the one being filled): the saver's memory is about
   * `(uploads + 1) × packSize`.
   * @default min(store.properties.connections, 2)
   */
  readonly uploads?: number;
  /** Write an index object after this many packs. @default 16 */
  readonly indexEvery?: number;
}

/**
 * Tree packs are sealed at this size (or the pack size, if smaller): a backup of many small
 * folders makes tree packs grow while data packs come and go, and smaller tree packs bound
 * that memory; tree blobs are read one by one, so small packs cost nothing on reads.
 */
const TREE_PACK_SIZE = 4 * 1024 * 1024;

/** Creates a blob saver. */
export function createBlobSaver(options: BlobSaverOptions): BlobSaver {
  const { store, keys, index } = options;
  // Two uploads overlap their writes and fsyncs with filling the next pack: with one, a first
  // backup of 1.9 GB took 10 % longer on a VM whose fsync is slow; a third gained 3 % for 16 MiB.
  const uploads = Math.max(1, options.uploads ?? Math.min(store.properties.connections, 2));
  const uploadLimit = pLimit(uploads);
  const indexEvery = options.indexEvery ?? 16;
  const stats: SaverStats = { newBlobs: 0, knownBlobs: 0, newRawBytes: 0, addedBytes: 0 };
  const builders: Record<BlobType, PackBuilder> = {
    // Room for a full pack and its header (see `fits`), so a pack is never copied to grow.
    data: createPackBuilder(keys, store, { capacity: options.packSize + 64 * 1024 }),
    tree: createPackBuilder(keys, store, { capacity: TREE_PACK_SIZE + 64 * 1024 }),
  };
  /** Blobs saved in this session but not yet in an uploaded pack. */
  const pending = new Set<string>();
  let unindexed: IndexedPack[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;

  const writeIndex = async (signal?: AbortSignal): Promise<void> => {
    if (unindexed.length === 0) return;
    const packs = unindexed;
    unindexed = [];
    const { id, bytes } = encodeIndex(keys, packs);
    await store.put(`index/${id}`, bytes, { signal });
    index.addObject(id);
    stats.addedBytes += bytes.length;
  };

  const sealPack = (type: BlobType, signal?: AbortSignal): void => {
    const finished = builders[type].finish();
    finished.catch(() => undefined); // awaited in the upload, which reports the failure
    const upload = uploadLimit(async () => {
      const pack = await finished;
      await pack.store(signal);
      stats.addedBytes += pack.size;
      index.addPack(pack.id, pack.entries);
      for (const e of pack.entries) pending.delete(idKey(e.id));
      unindexed.push({ packId: pack.id, entries: pack.entries });
      if (unindexed.length >= indexEvery) await writeIndex(signal);
    });
    const tracked = upload.then(
      () => void inFlight.delete(tracked),
      (error: unknown) => {
        inFlight.delete(tracked);
        fail(error);
      },
    );
    inFlight.add(tracked);
  };

  /** Fails the session (its first failure is what every later call and `flush` throw). */
  const fail = (error: unknown): void => {
    failure ??= error instanceof Error ? error : new Error(String(error));
  };

  const throwIfFailed = (): void => {
    if (failure) throw failure;
  };

  const saveRange: BlobSaver['saveRange'] = async (fd, position, length, { signal } = {}) => {
    throwIfFailed();
    const { held, length: read } = await identifyFileRange(keys, fd, position, length);
    return { ...(held ? { id: await storeHeld('data', held, read, signal) } : {}), length: read };
  };

  return {
    stats,
    async save(type, plaintext, signal) {
      throwIfFailed();
      return storeHeld(type, await identifyBlob(keys, plaintext), plaintext.length, signal);
    },
    saveRange,
    async saveRingChunk(chunk, signal) {
      // Copied out of the ring before anything else: the cut waits for every chunk of it.
      const held = await identifyRingChunk(keys, chunk);
      try {
        throwIfFailed();
      } catch (error) {
        held.drop();
        throw error;
      }
      return { id: await storeHeld('data', held, chunk.length, signal), length: chunk.length };
    },
    async saveRanges(fd, position, lengths, options = {}) {
      throwIfFailed();
      const hashed = await hashFileRanges(keys, fd, position, lengths);
      options.onHashed?.();
      let at = position;
      const saves = hashed.map(({ id, length }, i) => {
        const start = at;
        at += lengths[i] ?? 0;
        if (id === undefined || !isStored(id)) {
          return length > 0 ? saveRange(fd, start, length, options) : { length };
        }
        stats.knownBlobs++;
        return { id, length };
      });
      // Every read ends before this settles: the caller may close the file on an error.
      return settleAll(saves);
    },
    ready: slotReady,
    async saveFile(path, maxSize, signal) {
      throwIfFailed();
      const { held, ...file } = await readFileBlob(keys, path, maxSize, options.compression);
      return held ? { ...file, id: await storeHeld('data', held, file.rawLength, signal) } : file;
    },
    async flush(signal) {
      for (const type of ['data', 'tree'] as const) {
        if (builders[type].count > 0) sealPack(type, signal);
      }
      while (inFlight.size > 0) await Promise.race(inFlight);
      if (failure) throw failure;
      await writeIndex(signal);
    },
    async discard() {
      await Promise.all([builders.data.discard(), builders.tree.discard()]);
      await Promise.allSettled(inFlight);
    },
    indexStored: writeIndex,
  };

  /** Whether a blob is stored, or being stored by this session. */
  function isStored(id: Buffer): boolean {
    return pending.has(idKey(id)) || index.has(id);
  }

  /** Stores a hashed blob unless it is already stored; see `save`. */
  async function storeHeld(
    type: BlobType,
    held: HeldBlob,
    rawLength: number,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const { id } = held;
    if (isStored(id)) {
      held.drop();
      stats.knownBlobs++;
      return id;
    }
    pending.add(idKey(id));
    try {
      await addEncoded(type, await held.encode(type, options.compression), rawLength, signal);
    } catch (error) {
      pending.delete(idKey(id));
      // Saves of the same bytes meanwhile were answered with this id: a backup must not record
      // it now that no pack will hold it. (Failing so is rare: a worker that died, say.)
      fail(error);
      throw error;
    }
    return id;
  }

  /** Adds an encoded blob to its type's pack, sealing packs to make room; releases it either way. */
  async function addEncoded(
    type: BlobType,
    blob: Awaited<ReturnType<HeldBlob['encode']>>,
    rawLength: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    try {
      stats.newBlobs++;
      stats.newRawBytes += rawLength;
      const builder = builders[type];
      // A pack is sealed when the next blob would not fit, and only when an upload slot is
      // free: memory stays at one pack being filled plus `uploads` packs being stored (where
      // packs are gathered in memory; see `createPackBuilder`).
      const target =
        type === 'tree' ? Math.min(options.packSize, TREE_PACK_SIZE) : options.packSize;
      // The header (41 bytes a blob, sealed) counts too, so a pack never outgrows its buffer.
      const fits = (): boolean =>
        builder.size + blob.encoded.length + (builder.count + 1) * 41 + 64 <= target;
      while (builder.count > 0 && !fits()) {
        if (inFlight.size < uploads) sealPack(type, signal);
        else await Promise.race(inFlight);
        throwIfFailed();
      }
      await builder.add(blob);
    } finally {
      blob.release();
    }
  }
}

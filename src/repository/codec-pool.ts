/**
 * Blob hashing, encoding and decoding on worker threads. Large blobs are the bulk of every backup,
 * restore and check; doing their HMAC, zstd and AES-GCM on workers keeps the main thread free for
 * reading, chunking and writing, and keeps the allocations of that work out of the main thread's
 * heap, whose garbage collections grow with everything a command has loaded. Buffers travel by
 * transfer and come back for reuse, so the main thread does not allocate per blob either.
 * Small blobs are handled on the calling thread, where a message round trip would cost more than
 * the work, except where the work includes system calls or many blobs go in one message: small
 * files are read (backup), decoded and written (restore) on the workers, a large file is cut
 * into chunks there and its chunks read from the file there (a new one not in the page cache is
 * read once, into a ring its chunks are copied out of), and `check` verifies every blob there.
 * Results are byte for byte those of `blob-codec.ts` on the calling thread.
 * @module
 */
import { availableParallelism } from 'node:os';
import { IntegrityError } from '../errors.ts';
import { startWorker } from '../util/worker.ts';
import {
  BLOB_OVERHEAD,
  PLAINTEXT_AT,
  decodeBlob,
  encodeBlob,
  type BlobType,
  type CompressionPolicy,
  type EncodedBlob,
} from './blob-codec.ts';
import type {
  CodecFailure,
  CodecReply,
  CodecRequest,
  CodecWorkerData,
  FileRead,
  FileWritten,
  RestoreBlob,
  RingPlace,
  VerifyBlob,
} from './codec-messages.ts';
import type { ChunkerParams } from './chunker.ts';
import { blobId, sha256Hex, type RepositoryKeys } from './crypto.ts';
import { readFully } from '../util/read-fully.ts';
import { copyBytes } from '../util/copy-bytes.ts';
import { copyOutOfRing } from './ring-cut.ts';
import { DIRECT_ALIGN, alignedMemory } from '../util/aligned-memory.ts';

/**
 * A blob needing less slot space than this (plaintext and encoding overhead, or the larger of
 * stored and plain size) is handled on the calling thread.
 */
export const POOL_MIN = 64 * 1024;

/**
 * Bytes of one slot of shared memory: the largest chunk (8 MiB, the model profile's maximum) and
 * what encoding adds. Larger blobs (rare: a tree of a huge folder) are handled on the calling
 * thread.
 */
const SLOT_SIZE = 8 * 1024 * 1024 + 64 * 1024;

/** A hashed plaintext waiting for the decision whether to store it. */
export interface HeldBlob {
  readonly id: Buffer;
  /** Encodes the blob; call `release` on the result once its bytes are copied (into a pack). */
  encode(type: BlobType, policy: CompressionPolicy): Promise<EncodedBlob & { release(): void }>;
  /** Forgets the blob (it is already stored). */
  drop(): void;
}

/**
 * Hashes `plaintext`. Its bytes are copied before this returns its promise (into shared memory,
 * or a private buffer while every slot is taken), so the caller may reuse its buffer at once:
 * readers fill one buffer again and again instead of fresh memory per read.
 */
export async function identifyBlob(keys: RepositoryKeys, given: Buffer): Promise<HeldBlob> {
  const pooled = _pooled(given.length + BLOB_OVERHEAD);
  const slot = pooled ? _pool().acquireNow() : undefined;
  if (slot) {
    copyBytes(given, slot.bytes, PLAINTEXT_AT);
    return _identifyInSlot(keys, _pool(), slot, given.length);
  }
  // No slot now: a private copy, so the caller may reuse `given` at once.
  const plaintext = Buffer.from(given);
  if (pooled) {
    return _identifyInSlot(keys, _pool(), await _slotWith(_pool(), plaintext), plaintext.length);
  }
  const id = blobId(keys, plaintext);
  return {
    id,
    encode: (type, policy) =>
      Promise.resolve({
        ...encodeBlob(keys, type, id, plaintext, policy),
        release: () => undefined,
      }),
    drop: () => undefined,
  };
}

/**
 * Hashes `length` bytes at `position` of the open file `fd` on a worker, which reads them into
 * shared memory itself: the chunks of a large file are cut from another worker's read of the
 * file (see {@link cutFileAway}) and read again here, so the calling thread copies none of them.
 * A blob too small for a slot is read on the calling thread.
 * `length` in the result is what the file held there when it was read: fewer bytes when it
 * shrank meanwhile (no blob when none); the caller stores what was read and marks the file.
 */
export async function identifyFileRange(
  keys: RepositoryKeys,
  fd: number,
  position: number,
  length: number,
): Promise<{ held?: HeldBlob; length: number }> {
  if (!_pooled(length + BLOB_OVERHEAD)) {
    const bytes = Buffer.allocUnsafe(length);
    const read = readFully(fd, bytes, 0, length, position);
    if (read === 0) return { length: 0 };
    return { held: await identifyBlob(keys, bytes.subarray(0, read)), length: read };
  }
  const pool = _pool();
  const slot = await pool.acquire();
  try {
    const request = { op: 'range', job: 0, slot: slot.index, fd, position, length } as const;
    const read = _field(await pool.call({ ...request, idKey: keys.idKey }), 'range');
    if (read.id === undefined) {
      pool.release(slot);
      return { length: 0 };
    }
    const id = Buffer.from(read.id);
    const blob = { id, type: 'data' as const, length: read.length };
    const held: HeldBlob = {
      id,
      encode: (type, policy) => _encodeInSlot(keys, pool, slot, { ...blob, type, policy }),
      drop: () => pool.release(slot),
    };
    return { held, length: read.length };
  } catch (error) {
    pool.release(slot);
    throw error;
  }
}

/**
 * Hashes consecutive ranges of the open file `fd`, from `position`, of these `lengths`, on one
 * worker in one request, keeping none of their bytes (see the `ranges` request): the ids of a
 * large file's chunks, most of which are stored already. Per range, its id and the bytes the
 * file held there (fewer in the range it ends in; none, and no id, past its end).
 */
export async function hashFileRanges(
  keys: RepositoryKeys,
  fd: number,
  position: number,
  lengths: readonly number[],
): Promise<{ id?: Buffer; length: number }[]> {
  const request = { op: 'ranges', job: 0, fd, position, lengths, idKey: keys.idKey } as const;
  const ranges = _field(await _pool().call(request), 'ranges');
  return ranges.map(({ id, length }) => (id ? { id: Buffer.from(id), length } : { length }));
}

/** Chunks a worker cut: their lengths in file order, and whether the file ended. */
export interface CutChunks {
  readonly lengths: readonly number[];
  readonly end: boolean;
  /**
   * The chunks of `lengths` as read into the cut's ring, when the file is read once (see
   * {@link cutFileAway}): each to be hashed with {@link identifyRingChunk}. The cut reads on only
   * as far as they are: one left aside stops it until the loop over the cut ends.
   */
  readonly chunks?: readonly RingChunk[];
}

/** A chunk lying in the ring a file is read into once; see {@link identifyRingChunk}. */
export interface RingChunk {
  readonly length: number;
  /**
   * Where the chunk lies, for one copy out of the ring; `done` once copied, or failed.
   * @throws Error when the cut is over (its ring may hold another file by then)
   */
  take(): { place: RingPlace; done: () => void };
}

/**
 * Cuts the open file `fd` into chunks from its start, on a worker that reads the file itself and
 * goes on by itself, yielding the lengths of about `span` bytes of chunks at a time. For a
 * changed version of a large file: the calling thread has each chunk read again and hashed
 * where a worker is free (see {@link identifyFileRange}), and stored if it is new. The cutting
 * worker takes no other work while another worker can (see `pick`): hashing beside the cut
 * instead of after it, a version-2 backup of the benchmark took 4-7 % less time (five runs of
 * 6-10 pairs), for a second read of the file from the page cache.
 *
 * With `readOnce` (a new file, whose chunks are all to be stored), the worker reads the file
 * into a ring of shared memory instead (see ring-cut.ts), past the page cache where it can, and
 * each yield names its chunks there: the caller hashes every one with {@link identifyRingChunk},
 * and the cut goes on as they are copied out. One file at a time has the ring; another is cut as
 * without `readOnce`. The worker then takes other work too, since it cuts only as far as the ring
 * reaches.
 *
 * Cut points are those of `createChunker(gear, params)`. Stopped early (an error, a `break`),
 * it returns only once the worker no longer reads the file, which the caller may then close.
 */
export async function* cutFileAway(
  chunking: { readonly gear: Int32Array; readonly params: ChunkerParams },
  fd: number,
  span: number,
  options: { readOnce?: boolean } = {},
): AsyncGenerator<CutChunks> {
  const { gear, params } = chunking;
  // Piece `n` of the file is read over piece `n - RING_PIECES`, whose chunks must all have been
  // cut by then: they end at most `max` bytes after it.
  const fits = params.max <= (RING_PIECES - 1) * span && span % DIRECT_ALIGN === 0;
  const ring = options.readOnce && fits ? _takeRing(span) : undefined;
  const chunksOf = ring ? _ringChunks(ring, span) : undefined;
  const replies: (CodecReply | Error)[] = [];
  let finished = false;
  let wake: (() => void) | undefined;
  const next = async (): Promise<CodecReply | Error> => {
    while (replies.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return replies.shift() as CodecReply | Error;
  };
  const request: CodecRequest = {
    op: 'cut',
    job: 0,
    fd,
    position: 0,
    span,
    gear,
    ...params,
    ...(ring ? { ring: { memory: ring.memory, pieces: RING_PIECES } } : {}),
  };
  const onReply = (reply: CodecReply | Error): boolean => {
    finished = reply instanceof Error || 'error' in reply || ('cut' in reply && reply.cut.end);
    replies.push(reply);
    wake?.();
    return finished;
  };
  let job: ReturnType<_Pool['stream']>;
  try {
    job = _pool().stream(request, onReply, !ring);
  } catch (error) {
    chunksOf?.close();
    throw error;
  }
  try {
    for (;;) {
      const reply = await next();
      if (reply instanceof Error) throw reply;
      if ('error' in reply) throw _replyError(reply.error);
      const cut = _field(reply, 'cut');
      yield chunksOf ? { ...cut, chunks: chunksOf(cut, job.free) } : cut;
      if (cut.end) return;
    }
  } finally {
    if (!finished) job.cancel();
    while (!finished) await next();
    chunksOf?.close();
  }
}

/**
 * Hashes a chunk of a file read into a cut's ring (see {@link cutFileAway}) on a worker, which
 * copies it into a slot of shared memory first; the ring's bytes are given back once copied.
 */
export async function identifyRingChunk(keys: RepositoryKeys, chunk: RingChunk): Promise<HeldBlob> {
  const { place, done } = chunk.take();
  try {
    if (!_pooled(chunk.length + BLOB_OVERHEAD)) {
      const bytes = Buffer.allocUnsafe(chunk.length);
      copyOutOfRing(place, bytes);
      return await identifyBlob(keys, bytes);
    }
    const pool = _pool();
    return await _identifyInSlot(keys, pool, await pool.acquire(), chunk.length, place);
  } finally {
    done();
  }
}

/**
 * A small file read, hashed and encoded on a worker (see {@link readFileBlob}): the worker's
 * account of it, with the blob held in its slot instead of the blob's id and length.
 */
export type FileBlob = Omit<FileRead, 'blob'> & {
  /** The file's content as one blob, hashed and encoded; absent when no blob was made. */
  readonly held?: HeldBlob;
};

/**
 * Reads a file of at most `maxSize` bytes on a codec worker, which hashes it and encodes it
 * with `policy` in its slot: for a folder of many small files, the calling thread only walks and
 * packs, and the reads, hashes and compression of the files run on every core. The held blob's
 * `encode` returns that encoding. Files asked for in the same turn of the event loop go to the
 * workers {@link FILES_PER_REQUEST} in a request, sharing a slot.
 * @throws the file system's error (with its `code`) when the file cannot be read.
 */
export function readFileBlob(
  keys: RepositoryKeys,
  path: string,
  maxSize: number,
  policy: CompressionPolicy,
): Promise<FileBlob> {
  if (_fileStride(maxSize) > SLOT_SIZE) {
    return Promise.reject(new RangeError('[codec] file over a slot'));
  }
  return new Promise((resolve, reject) => {
    _filesAsked.push({ keys, path, maxSize, policy, resolve, reject });
    if (_filesAsked.length >= FILES_PER_REQUEST) _askForFiles();
    else _filesLater ??= setImmediate(_askForFiles);
  });
}

/**
 * Decodes and verifies stored data blobs and writes each to its files, on a codec worker: the
 * small files of a restore, one ranged read of a pack at a time. Creating, writing, chmod-ing,
 * timing and renaming a file cost tens of microseconds each on some virtual machines: on the
 * workers they run on every core, and this thread only reads. `stored` (the blobs at
 * their `offset`s) is handed over to the worker when it is a whole buffer of its own, so the
 * caller must not use it afterwards; in shared memory it is read where it lies, and must stay
 * untouched until this resolves. Each file is checked against its `size` and `sha256` when
 * given, written under `temp` (created exclusively), then renamed to `path`.
 * @returns per blob, per file: `undefined` once written, {@link FileWritten} once written with
 * something to tell, else the error (an IntegrityError on any mismatch, the file system's error
 * otherwise).
 */
export async function restoreBlobsAway(
  keys: RepositoryKeys,
  stored: Buffer,
  blobs: readonly RestoreBlob[],
): Promise<(Error | FileWritten | undefined)[][]> {
  const { idKey, dataKey } = keys;
  // Shared memory is read where it lies; other memory moves to the worker, and a view into a
  // larger buffer is copied out first, so that only its bytes travel.
  const shared = stored.buffer instanceof SharedArrayBuffer;
  const whole = stored.byteOffset === 0 && stored.byteLength === stored.buffer.byteLength;
  const data = shared || whole ? stored : new Uint8Array(stored);
  const request = { op: 'restore', job: 0, data, idKey, dataKey, blobs } as const;
  const reply = await _pool().call(request, shared ? [] : [data.buffer as ArrayBuffer]);
  return _field(reply, 'restored').map((files) =>
    files.map((failure) =>
      failure === null ? undefined : 'message' in failure ? _errorOf(failure) : failure,
    ),
  );
}

/**
 * Decodes and verifies stored blobs on a codec worker, keeping nothing: `check --read-data`,
 * a part of a pack at a time. The blobs lie in `memory` at their `offset`s; when it is shared
 * memory (see {@link sharedBuffer}) the worker reads them there, else they are copied there
 * first.
 * @returns the places in `blobs` of those that fail (unreadable, unauthenticated, not hashing
 * to their id, or of another length).
 */
export async function verifyBlobsAway(
  keys: RepositoryKeys,
  memory: Buffer,
  blobs: readonly VerifyBlob[],
): Promise<number[]> {
  let shared = memory;
  if (!(memory.buffer instanceof SharedArrayBuffer)) {
    shared = sharedBuffer(memory.length);
    copyBytes(memory, shared);
  }
  const { idKey, dataKey } = keys;
  const { byteOffset: offset, length } = shared;
  const memoryOf = shared.buffer as SharedArrayBuffer;
  const request = {
    op: 'verify',
    job: 0,
    memory: memoryOf,
    offset,
    length,
    idKey,
    dataKey,
    blobs,
  } as const;
  return _field(await _pool().call(request), 'bad');
}

/**
 * Resolves once a slot is free for a plaintext of `length` bytes; `undefined` when one is free
 * now or such a blob is not handled in slots. A caller copying out of a buffer it reuses awaits
 * this before {@link identifyBlob}, so the blob goes straight into shared memory: one finding
 * every slot taken is copied twice, first into fresh memory, and fresh memory is slow here.
 */
export function slotReady(length: number): Promise<void> | undefined {
  return _pooled(length + BLOB_OVERHEAD) ? _pool().ready() : undefined;
}

/** Whether a blob needing `size` bytes of a slot goes to the workers (else: the calling thread). */
function _pooled(size: number): boolean {
  return size >= POOL_MIN && size <= SLOT_SIZE;
}

/** Waits for a free slot and copies a plaintext into it. */
async function _slotWith(pool: _Pool, bytes: Buffer): Promise<_Slot> {
  const slot = await pool.acquire();
  copyBytes(bytes, slot.bytes, PLAINTEXT_AT);
  return slot;
}

/** Hashes the plaintext already in `slot`, or first copied there `from` a ring, on a worker. */
async function _identifyInSlot(
  keys: RepositoryKeys,
  pool: _Pool,
  slot: _Slot,
  length: number,
  from?: RingPlace,
): Promise<HeldBlob> {
  try {
    const reply = await pool.call({
      op: 'identify',
      job: 0,
      slot: slot.index,
      length,
      idKey: keys.idKey,
      ...(from ? { from } : {}),
    });
    const id = Buffer.from(_field(reply, 'id'));
    return {
      id,
      encode: (type, policy) => _encodeInSlot(keys, pool, slot, { id, type, length, policy }),
      drop: () => pool.release(slot),
    };
  } catch (error) {
    pool.release(slot);
    throw error;
  }
}

/** Encodes the plaintext already in `slot` on a worker; the slot is released with the result. */
async function _encodeInSlot(
  keys: RepositoryKeys,
  pool: _Pool,
  slot: _Slot,
  blob: { id: Buffer; type: BlobType; length: number; policy: CompressionPolicy },
): Promise<EncodedBlob & { release(): void }> {
  const { id, type, length, policy } = blob;
  try {
    const request = {
      op: 'encode',
      job: 0,
      slot: slot.index,
      length,
      dataKey: keys.dataKey,
      type,
      id,
      policy,
    } as const;
    const encoded = slot.bytes.subarray(0, _field(await pool.call(request), 'length'));
    return { id, type, encoded, rawLength: length, release: () => pool.release(slot) };
  } catch (error) {
    pool.release(slot);
    throw error;
  }
}

/** A decoded blob in shared memory, valid until `release`. */
export interface BlobLease {
  readonly bytes: Buffer;
  release(): void;
}

/**
 * Decodes and verifies a stored blob, as `decodeBlob` in `blob-codec.ts` does, leaving the
 * plaintext where the caller reads it before releasing the lease (no copy). `read` is offered a
 * slot of shared memory to read the stored bytes into (a local store reads straight into it: no
 * fresh memory, no copy) and returns the bytes it read, there or elsewhere.
 * @throws IntegrityError naming `what` on any mismatch; what `read` throws.
 */
export async function leaseStoredBlob(
  keys: RepositoryKeys,
  type: BlobType,
  id: Buffer,
  blob: { readonly encodedLength: number; readonly rawLength: number; readonly what: string },
  read: (into?: Buffer) => Promise<Buffer>,
): Promise<BlobLease> {
  const { encodedLength, rawLength, what } = blob;
  // Never waits for a slot: a reader may hold leases while it waits for another (a restore writes
  // blobs in order), so with every slot leased it decodes here instead.
  const slot = _pooled(Math.max(encodedLength, rawLength)) ? _pool().acquireNow() : undefined;
  if (!slot) {
    const bytes = decodeBlob(keys, type, id, await read(), rawLength, what);
    return { bytes, release: () => undefined };
  }
  const pool = _pool();
  try {
    const encoded = await read(slot.bytes.subarray(0, encodedLength));
    if (encoded.buffer !== slot.bytes.buffer || encoded.byteOffset !== slot.bytes.byteOffset) {
      copyBytes(encoded, slot.bytes);
    }
    const request = {
      op: 'decode',
      job: 0,
      slot: slot.index,
      length: encoded.length,
      idKey: keys.idKey,
      dataKey: keys.dataKey,
      type,
      id,
      rawLength,
      what,
    } as const;
    const length = _field(await pool.call(request), 'length');
    return { bytes: slot.bytes.subarray(0, length), release: () => pool.release(slot) };
  } catch (error) {
    pool.release(slot);
    throw error;
  }
}

/**
 * A buffer in memory shared with the codec workers, for bytes to hash there with
 * {@link sha256OfShared}: packs being filled.
 */
export function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

/**
 * SHA-256 (hex) of `bytes`: on a codec worker when they lie in shared memory (see
 * {@link sharedBuffer}) and are large, else here. A pack's hash names it; computed on a worker,
 * the main thread goes on filling the next pack meanwhile (it costs 0.6 ms per MB).
 */
export async function sha256OfShared(bytes: Buffer): Promise<string> {
  if (!(bytes.buffer instanceof SharedArrayBuffer) || bytes.length < POOL_MIN) {
    return sha256Hex(bytes);
  }
  const { byteOffset: offset, length } = bytes;
  const reply = await _pool().call({ op: 'digest', job: 0, memory: bytes.buffer, offset, length });
  return _field(reply, 'sha256');
}

/**
 * Starts the codec workers now rather than at their first request: a worker takes about a tenth
 * of a second of a core to load, which a command about to need them can spend while it waits for
 * something else (a backup, for its repository key). Idle workers keep no process alive.
 */
export function startCodecWorkers(): void {
  _pool().startAll();
}

/** The bytes of a lease as a buffer the caller may keep, the lease released. */
export function keepLease(lease: BlobLease): Buffer {
  try {
    return lease.bytes.buffer instanceof SharedArrayBuffer ? Buffer.from(lease.bytes) : lease.bytes;
  } finally {
    lease.release();
  }
}

// --- internal ---

/**
 * Spans a cut's ring holds (see {@link cutFileAway}): the next read while one is cut and the
 * chunks of the one before are copied out.
 */
const RING_PIECES = 3;

/** The one ring of shared memory a file is read into once; see {@link cutFileAway}. */
interface _Ring {
  readonly memory: SharedArrayBuffer;
  readonly span: number;
  taken: boolean;
}

let _ring: _Ring | undefined;

/** The one ring, for pieces of `span` bytes, unless another cut has it (then undefined). */
function _takeRing(span: number): _Ring | undefined {
  if (_ring?.taken) return undefined;
  if (_ring?.span !== span) {
    _ring = { memory: alignedMemory(RING_PIECES * span, { shared: true }), span, taken: false };
  }
  _ring.taken = true;
  return _ring;
}

/**
 * The chunks of a cut's replies as they lie in `ring`, and the ring's bytes given back through
 * `free` as the chunks are copied out in file order. `close` once the cut is over: the ring
 * goes back when no chunk is being copied any more, and no chunk may be taken after.
 */
function _ringChunks(
  ring: _Ring,
  span: number,
): {
  (cut: CutChunks & { readonly at?: number }, free: (through: number) => void): RingChunk[];
  close(): void;
} {
  const size = RING_PIECES * span;
  const copied: boolean[] = [];
  const ends: number[] = []; // per chunk so far, the file position where it ends
  let position = 0;
  let through = 0; // every chunk before it copied
  let next = 0; // the first chunk not copied
  let taken = 0; // chunks being copied
  let closed = false;
  const giveBack = (): void => {
    if (closed && taken === 0) ring.taken = false;
  };
  const chunksOf = (
    cut: CutChunks & { readonly at?: number },
    free: (through: number) => void,
  ): RingChunk[] => {
    let at = cut.at ?? 0;
    return cut.lengths.map((length) => {
      const index = ends.length;
      const place = { memory: ring.memory, size, at };
      position += length;
      ends.push(position);
      at = (at + length) % size;
      return {
        length,
        take() {
          if (closed) throw new Error('[codec] a chunk taken after its cut');
          taken++;
          let once = false;
          return {
            place,
            done() {
              if (once) return;
              once = true;
              taken--;
              copied[index] = true;
              while (copied[next]) next++;
              const now = next > 0 ? (ends[next - 1] ?? 0) : 0;
              // Only a whole piece is read into again: say so as each one is copied out.
              if (Math.floor(now / span) > Math.floor(through / span)) free(now);
              through = now;
              giveBack();
            },
          };
        },
      };
    });
  };
  return Object.assign(chunksOf, {
    close() {
      closed = true;
      giveBack();
    },
  });
}

interface _Slot {
  readonly index: number;
  readonly bytes: Buffer;
}

interface _Pool {
  /** A free slot, if there is one. */
  acquireNow(): _Slot | undefined;
  /** Waits for a free slot (first come, first served). */
  acquire(): Promise<_Slot>;
  /** Resolves when a slot is free (`undefined`: one is now), without taking it. */
  ready(): Promise<void> | undefined;
  release(slot: _Slot): void;
  /** Starts every worker not running yet. */
  startAll(): void;
  /** Sends `request` to the least busy worker; `transfer`: buffers it hands over. */
  call(request: CodecRequest, transfer?: readonly ArrayBuffer[]): Promise<CodecReply>;
  /**
   * Sends a request of many replies to the least busy worker (see `_CodecWorker.stream`; `long`
   * by default); `cancel` asks that worker to end the job (see the `cancel` request), `free`
   * gives a ring cut's bytes back (see the `free` request).
   */
  stream(
    request: CodecRequest,
    onReply: (reply: CodecReply | Error) => boolean,
    long?: boolean,
  ): { cancel: () => void; free: (through: number) => void };
}

let pool: _Pool | undefined;

/** How many codec workers the pool runs at most: one per core, at most 4. */
export function codecWorkerCount(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

/**
 * The process's codec pool, started on first use: one worker per core (at most 4) sharing a slab
 * of slots, four per worker, so each worker has its next blobs ready while readers hold leases.
 */
function _pool(): _Pool {
  if (pool) return pool;
  const size = codecWorkerCount();
  const slots = 4 * size + 2;
  const slab = new SharedArrayBuffer(slots * SLOT_SIZE);
  const free: _Slot[] = [];
  for (let i = slots - 1; i >= 0; i--) {
    free.push({ index: i, bytes: Buffer.from(slab, i * SLOT_SIZE, SLOT_SIZE) });
  }
  const waiters: (() => void)[] = [];
  const watchers: (() => void)[] = [];
  const workers: _CodecWorker[] = [];
  let jobs = 0;
  const start = (): _CodecWorker => {
    const started = _startWorker({ slab, slotSize: SLOT_SIZE }, () => {
      const at = workers.indexOf(started);
      if (at >= 0) workers.splice(at, 1);
    });
    workers.push(started);
    return started;
  };
  // The least busy worker; one running a long job (a cut) only when every worker runs one.
  const pick = (): _CodecWorker => {
    let best: _CodecWorker | undefined;
    for (const worker of workers) {
      if (!best || worker.streaming < best.streaming) best = worker;
      else if (worker.streaming === best.streaming && worker.pending < best.pending) best = worker;
    }
    if (best && (best.pending === 0 || workers.length >= size)) return best;
    return start();
  };
  pool = {
    acquireNow: () => free.pop(),
    async acquire() {
      let slot = free.pop();
      while (!slot) {
        await new Promise<void>((resolve) => waiters.push(resolve));
        slot = free.pop();
      }
      return slot;
    },
    ready: () => (free.length > 0 ? undefined : new Promise((resolve) => watchers.push(resolve))),
    release(slot) {
      free.push(slot);
      // A waiter takes the slot; else one watcher hears of it.
      (waiters.shift() ?? watchers.shift())?.();
    },
    startAll() {
      while (workers.length < size) start();
    },
    call: (request, transfer) => pick().call({ ...request, job: ++jobs }, transfer),
    stream(request, onReply, long = true) {
      const worker = pick();
      const job = ++jobs;
      worker.stream({ ...request, job }, onReply, undefined, long);
      return {
        cancel: () => worker.tell({ op: 'cancel', job: 0, target: job }),
        free: (through) => worker.tell({ op: 'free', job: 0, target: job, through }),
      };
    },
  };
  return pool;
}

interface _CodecWorker {
  readonly pending: number;
  /** Long jobs running (see `stream`). */
  readonly streaming: number;
  call(request: CodecRequest, transfer?: readonly ArrayBuffer[]): Promise<CodecReply>;
  /**
   * Sends a request of many replies; `onReply` says which is the last (an error always is).
   * `long`: a job that keeps the worker busy until its last reply.
   */
  stream(
    request: CodecRequest,
    onReply: (reply: CodecReply | Error) => boolean,
    transfer?: readonly ArrayBuffer[],
    long?: boolean,
  ): void;
  /** Sends a request that has no reply. */
  tell(request: CodecRequest): void;
}

function _startWorker(data: CodecWorkerData, onExit: () => void): _CodecWorker {
  const worker = startWorker('codec-worker', import.meta.url, { workerData: data });
  /** Per job, what to do with a reply; true when it was the job's last. */
  const waiting = new Map<number, (reply: CodecReply | Error) => boolean>();
  const long = new Set<number>();
  // Unreferenced while idle, so an idle pool never keeps the process alive; again once online,
  // since a worker still starting up may not keep an earlier unref.
  worker.unref();
  worker.on('online', () => {
    if (waiting.size === 0) worker.unref();
  });
  const failAll = (error: Error): void => {
    onExit();
    for (const settle of waiting.values()) settle(error);
    waiting.clear();
  };
  worker.on('message', (reply: CodecReply) => {
    const settle = waiting.get(reply.job);
    if (settle?.(reply) === false) return;
    waiting.delete(reply.job);
    if (waiting.size === 0) worker.unref();
  });
  worker.on('error', (error) => failAll(new Error(`[codec] worker failed: ${error.message}`)));
  // A reply that cannot be read names no job, so no job can be told: all fail, none waits forever.
  worker.on('messageerror', (error) => {
    failAll(new Error(`[codec] a worker's reply could not be read: ${error.message}`));
    void worker.terminate();
  });
  worker.on('exit', (code) => failAll(new Error(`[codec] worker exited (code ${code})`)));
  return {
    get pending() {
      return waiting.size;
    },
    get streaming() {
      return long.size;
    },
    call(request, transfer) {
      return new Promise((resolve, reject) => {
        this.stream(
          request,
          (reply) => {
            if (reply instanceof Error) reject(reply);
            else if ('error' in reply) reject(_replyError(reply.error));
            else resolve(reply);
            return true;
          },
          transfer,
        );
      });
    },
    stream(request, onReply, transfer, isLong = false) {
      if (waiting.size === 0) worker.ref();
      if (isLong) long.add(request.job);
      waiting.set(request.job, (reply) => {
        const last = onReply(reply) || reply instanceof Error || 'error' in reply;
        if (last) long.delete(request.job);
        return last;
      });
      worker.postMessage(request, transfer);
    },
    tell(request) {
      worker.postMessage(request);
    },
  };
}

/** The error a worker's account of a failure stands for. */
function _errorOf(failure: CodecFailure): Error {
  return failure.integrity ? new IntegrityError(failure.message) : new Error(failure.message);
}

/** What each reply field holds. */
interface _ReplyFields {
  id: Uint8Array;
  files: Extract<CodecReply, { files: unknown }>['files'];
  range: Extract<CodecReply, { range: unknown }>['range'];
  ranges: Extract<CodecReply, { ranges: unknown }>['ranges'];
  cut: Extract<CodecReply, { cut: unknown }>['cut'];
  length: number;
  sha256: string;
  restored: Extract<CodecReply, { restored: unknown }>['restored'];
  bad: number[];
}

/** The error a worker reported, with its file system `code` when it had one. */
function _replyError(failure: CodecFailure & { code?: string }): Error {
  const { code } = failure;
  return Object.assign(_errorOf(failure), code ? { code } : {});
}

function _field<K extends keyof _ReplyFields>(reply: CodecReply, key: K): _ReplyFields[K] {
  if (!(key in reply)) throw new Error(`[codec] unexpected reply to job ${reply.job}`);
  return (reply as unknown as _ReplyFields)[key];
}

/**
 * Small files read in one request at most. A request costs a message each way and a turn of each
 * thread's event loop, 40-60 us of CPU together on this machine, where reading, hashing and
 * compressing a file of 20 KB costs about 200 us: one request per file was a fifth of the work
 * of backing up 20,000 such files.
 */
const FILES_PER_REQUEST = 8;

/** A file asked for with {@link readFileBlob}, not yet sent to a worker. */
interface _FileAsked {
  readonly keys: RepositoryKeys;
  readonly path: string;
  readonly maxSize: number;
  readonly policy: CompressionPolicy;
  resolve(file: FileBlob): void;
  reject(error: unknown): void;
}

let _filesAsked: _FileAsked[] = [];
let _filesLater: NodeJS.Immediate | undefined;

/** Bytes of a slot each file of a `files` request may fill: `maxSize + 1` bytes, and encoding's. */
function _fileStride(maxSize: number): number {
  return maxSize + 1 + BLOB_OVERHEAD;
}

/** Sends the files asked for so far, in requests of files asked for alike. */
function _askForFiles(): void {
  if (_filesLater) clearImmediate(_filesLater);
  _filesLater = undefined;
  const asked = _filesAsked;
  _filesAsked = [];
  for (let at = 0; at < asked.length;) {
    const first = asked[at] as _FileAsked;
    const stride = _fileStride(first.maxSize);
    const most = Math.min(FILES_PER_REQUEST, Math.floor(SLOT_SIZE / stride));
    let end = at + 1;
    while (end < asked.length && end - at < most && _alike(asked[end] as _FileAsked, first)) end++;
    void _readFiles(asked.slice(at, end), stride);
    at = end;
  }
}

function _alike(a: _FileAsked, b: _FileAsked): boolean {
  return a.keys === b.keys && a.maxSize === b.maxSize && a.policy === b.policy;
}

/**
 * Reads `files` on a worker in one request, each into its part of one slot, which is released
 * once every blob held there is dropped or packed.
 */
async function _readFiles(files: readonly _FileAsked[], stride: number): Promise<void> {
  const [first] = files;
  if (!first) return;
  const pool = _pool();
  let slot: _Slot | undefined;
  try {
    slot = await pool.acquire();
    const { keys, maxSize, policy } = first;
    const request = {
      op: 'files' as const,
      job: 0,
      slot: slot.index,
      paths: files.map((file) => file.path),
      stride,
      maxSize,
      idKey: keys.idKey,
      dataKey: keys.dataKey,
      policy,
    };
    const read = _field(await pool.call(request satisfies CodecRequest), 'files');
    const taken = slot;
    slot = undefined;
    let holders = read.filter((file) => 'blob' in file && file.blob).length;
    if (holders === 0) pool.release(taken);
    const release = (): void => {
      if (--holders === 0) pool.release(taken);
    };
    files.forEach((file, k) => {
      const got = read[k];
      if (got === undefined) file.reject(new Error(`[codec] no reply for ${file.path}`));
      else if ('error' in got) file.reject(_replyError(got.error));
      else
        file.resolve(_heldFile(got, taken.bytes.subarray(k * stride, (k + 1) * stride), release));
    });
  } catch (error) {
    if (slot) pool.release(slot);
    for (const file of files) file.reject(error);
  }
}

/** A file read by a `files` request, its blob (if any) encoded at the start of `frame`. */
function _heldFile(file: FileRead, frame: Buffer, release: () => void): FileBlob {
  const { before, after, rawLength, blob } = file;
  if (!blob) return file;
  const id = Buffer.from(blob.id);
  const encoded = frame.subarray(0, blob.length);
  const held: HeldBlob = {
    id,
    encode: () => Promise.resolve({ id, type: 'data', encoded, rawLength, release }),
    drop: release,
  };
  return { before, after, rawLength, held };
}

/**
 * The worker side of `codec-pool.ts`: hashes, encodes and decodes blobs with the functions of
 * `blob-codec.ts`, reading and writing them in the slots of memory it shares with the main
 * thread. A blob is encoded and decoded in its slot (see `encodeBlobInPlace`, `decodeBlobInto`),
 * compressed and decompressed through this thread's reused scratch buffers: no fresh memory for
 * it but the cipher's small pieces. Everything but the file reads of a `cut` job is synchronous:
 * this thread has nothing else to do meanwhile.
 * @module
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import {
  PLAINTEXT_AT,
  decodeBlobInto,
  encodeBlobInPlace,
  storedCompressed,
  type BlobType,
  type CompressionPolicy,
} from './blob-codec.ts';
import { IntegrityError } from '../errors.ts';
import type {
  CodecFailure,
  CodecReply,
  CodecRequest,
  CodecWorkerData,
  FileRead,
  FileVersion,
  FileWritten,
  RestoreFile,
  VerifyBlob,
} from './codec-messages.ts';
import { blobId, sha256Hex, sha256HexStaged, type RepositoryKeys } from './crypto.ts';
import { readAhead, readAheadPolicy } from './read-ahead.ts';
import { withLastChunk } from './chunker.ts';
import { createGearScanner, SCAN_PIECE, scanRoom } from './gear-scan.ts';
import { copyOutOfRing, startRingCut, type RingCut } from './ring-cut.ts';
import { fileIdentity } from '../util/file-identity.ts';
import { OPEN_LISTED_FILE } from '../util/open-flags.ts';
import { ownerRefusal, SETID_BITS } from '../util/owner-refusal.ts';
import { readFully } from '../util/read-fully.ts';
import { reusedBuffer } from '../util/reused-buffer.ts';
import { collectFullyToo, collectNowAndThen, keepFreedMemory } from './worker-memory.ts';

if (!parentPort) throw new Error('[codec] codec-worker.ts runs only as a worker thread');
const port = parentPort;
const { slab, slotSize } = workerData as CodecWorkerData;

/** `cut` jobs asked to end. */
const cancelled = new Set<number>();

/** Running `cut` jobs that read into a ring (see ring-cut.ts). */
const ringCuts = new Map<number, RingCut>();

// A request that cannot be read names no job to fail: the worker fails, and with it its jobs.
port.on('messageerror', (error) => {
  throw error;
});

port.on('message', (request: CodecRequest) => {
  if (request.op === 'cancel') {
    const ringCut = ringCuts.get(request.target);
    if (ringCut) ringCut.cancel();
    else cancelled.add(request.target);
    return;
  }
  if (request.op === 'free') {
    ringCuts.get(request.target)?.free(request.through);
    return;
  }
  if (request.op === 'cut') {
    if (request.ring) _cutThroughRing(request);
    else _cutToEnd(request);
    return;
  }
  if (request.op === 'files') {
    const ahead = _readAheadPolicy.onReceive(request.paths);
    if (ahead.length > 0) {
      // Served after the requests before it, while its files are read.
      void readAhead(ahead, _readAheadInto(request.maxSize));
      const readAlready = ahead.length === request.paths.length ? 'all' : 'others';
      setImmediate(() => _serve(request, readAlready));
      return;
    }
  }
  _serve(request);
});

/** Answers a request of one reply; `readAlready` as {@link _handle} takes it. */
function _serve(request: _OneReply, readAlready?: _ReadAlready): void {
  let reply: CodecReply;
  try {
    reply = _handle(request, readAlready);
  } catch (error) {
    port.postMessage(_errorReply(request.job, error));
    return;
  }
  port.postMessage(reply);
  collectNowAndThen(_bytesOf(request, reply));
}

/** The reply to a request that failed. */
function _errorReply(job: number, error: unknown): CodecReply {
  return { job, error: _failureWithCode(error) };
}

/** Why something failed, with the file system's `code` when there is one. */
function _failureWithCode(error: unknown): CodecFailure & { code?: string } {
  const { code } = error as { code?: unknown };
  return { ..._failure(error), ...(typeof code === 'string' ? { code } : {}) };
}

/** A request answered by one reply. */
type _OneReply = Exclude<CodecRequest, { op: 'cut' | 'cancel' | 'free' }>;

/**
 * Which files of a `files` request were read ahead on arrival: all of them, or all but the first
 * (none when absent).
 */
type _ReadAlready = 'all' | 'others';

/** Answers a request of one reply; `readAlready` for a `files` request, see {@link _ReadAlready}. */
function _handle(request: _OneReply, readAlready?: _ReadAlready): CodecReply {
  const { job } = request;
  if (request.op === 'restore') return { job, restored: _restoreBlobs(request) };
  if (request.op === 'verify') {
    keepFreedMemory();
    collectFullyToo();
    return { job, bad: _verifyBlobs(request) };
  }
  if (request.op === 'digest') {
    const bytes = Buffer.from(request.memory, request.offset, request.length);
    return { job, sha256: sha256HexStaged(bytes) };
  }
  if (request.op === 'ranges') return { job, ranges: _hashRanges(request) };
  const slot = Buffer.from(slab, request.slot * slotSize, slotSize);
  switch (request.op) {
    case 'identify': {
      const plaintext = slot.subarray(PLAINTEXT_AT, PLAINTEXT_AT + request.length);
      if (request.from) copyOutOfRing(request.from, plaintext);
      return { job, id: new Uint8Array(blobId(_keys({ idKey: request.idKey }), plaintext)) };
    }
    case 'range': {
      const { fd, position, length } = request;
      const total = readFully(fd, slot, PLAINTEXT_AT, length, position);
      if (total === 0) return { job, range: { length: 0 } };
      const plaintext = slot.subarray(PLAINTEXT_AT, PLAINTEXT_AT + total);
      const id = new Uint8Array(blobId(_keys({ idKey: request.idKey }), plaintext));
      return { job, range: { id, length: total } };
    }
    case 'files':
      return { job, files: _fileBlobs(request, slot, readAlready) };
    case 'encode': {
      const keys = _keys({ dataKey: request.dataKey });
      const id = Buffer.from(request.id);
      const { type, length, policy } = request;
      return { job, length: encodeBlobInPlace(keys, type, id, slot, length, policy) };
    }
    case 'decode': {
      keepFreedMemory();
      const keys = _keys({ idKey: request.idKey, dataKey: request.dataKey });
      const id = Buffer.from(request.id);
      const { type, rawLength, what } = request;
      const encoded = slot.subarray(0, request.length);
      // Either way the plaintext ends in the slot uncopied (the pool sizes slots for any blob it
      // sends here): a compressed payload is decrypted into this thread's scratch and
      // decompressed into the slot, a raw one decrypted in place.
      const plaintext = storedCompressed(encoded)
        ? decodeBlobInto(keys, type, id, encoded, rawLength, what, _scratch(encoded.length), slot)
        : decodeBlobInto(keys, type, id, encoded, rawLength, what, slot);
      // Outside the slot only when it would not fit there (decompressed into fresh memory).
      if (plaintext.buffer !== slab) throw new Error('[codec] result larger than its slot');
      return { job, length: plaintext.length };
    }
  }
}

/**
 * Reads, hashes and encodes the small files of a `files` request, each in its part of `slot`. The
 * first one's read is timed for the read-ahead policy, unless it was read ahead.
 */
function _fileBlobs(
  request: Extract<CodecRequest, { op: 'files' }>,
  slot: Buffer,
  readAlready: _ReadAlready | undefined,
): (FileRead | { error: CodecFailure })[] {
  const { stride, maxSize, policy } = request;
  const keys = _keys({ idKey: request.idKey, dataKey: request.dataKey });
  const others = readAlready ? [] : request.paths.slice(1);
  return request.paths.map((path, k) => {
    try {
      const frame = slot.subarray(k * stride, (k + 1) * stride);
      if (k > 0 || readAlready === 'all') return _fileBlob(path, frame, maxSize, keys, policy);
      const started = performance.now();
      const read = _readInto(path, frame, maxSize);
      const ms = performance.now() - started;
      void readAhead(_readAheadPolicy.afterFirst(ms, others), _readAheadInto(maxSize));
      return _encodeFileRead(read, frame, maxSize, keys, policy);
    } catch (error) {
      return { error: _failureWithCode(error) };
    }
  });
}

/** Which of the small files of a `files` request to read ahead (see read-ahead.ts). */
const _readAheadPolicy = readAheadPolicy();

/** Where this thread's reads ahead go: the small files it reads, whole. */
const _readAheadInto = reusedBuffer();

/**
 * This worker's buffer for the file reads it keeps nothing of (`cut` and `ranges` requests),
 * kept for the next: each request is done with it before the next is served. It lies in the
 * chunker's WebAssembly memory, where a `cut` scans what it read without a copy.
 */
const _readBuffer = scanRoom;

/** Hashes a `ranges` request's ranges one after another in {@link _readBuffer}. */
function _hashRanges(request: Extract<CodecRequest, { op: 'ranges' }>): {
  id?: Uint8Array;
  length: number;
}[] {
  const keys = _keys({ idKey: request.idKey });
  const buffer = _readBuffer(Math.max(0, ...request.lengths));
  let position = request.position;
  let ended = false;
  return request.lengths.map((length) => {
    if (ended) return { length: 0 };
    const read = readFully(request.fd, buffer, 0, length, position);
    position += read;
    ended = read < length;
    if (read === 0) return { length: 0 };
    return { id: new Uint8Array(blobId(keys, buffer.subarray(0, read))), length: read };
  });
}

/** Runs a `cut` job with a ring (see ring-cut.ts), known by its job until its last reply. */
function _cutThroughRing(request: Extract<CodecRequest, { op: 'cut' }>): void {
  const { job } = request;
  const post = (reply: CodecReply): void => {
    if ('error' in reply || ('cut' in reply && reply.cut.end)) ringCuts.delete(job);
    port.postMessage(reply);
  };
  ringCuts.set(
    job,
    startRingCut(request, post, (error) => _errorReply(job, error)),
  );
}

/**
 * Runs a `cut` job: a reply per span, the next span in a later turn of the event loop so that
 * requests waiting meanwhile (the new chunks' reads and encodings) are served in between.
 */
function _cutToEnd(request: Extract<CodecRequest, { op: 'cut' }>): void {
  const { job } = request;
  let position = request.position;
  const step = (): void => {
    try {
      if (cancelled.delete(job)) {
        // The job's last reply, as at the end of the file: nothing more will be read.
        port.postMessage({ job, cut: { lengths: [], end: true } });
        return;
      }
      const cut = _cut({ ...request, position });
      for (const length of cut.lengths) position += length;
      port.postMessage({ job, cut } satisfies CodecReply);
      collectNowAndThen(request.span);
      if (cut.end) cancelled.delete(job);
      else setImmediate(step);
    } catch (error) {
      cancelled.delete(job);
      port.postMessage(_errorReply(job, error));
    }
  };
  step();
}

/**
 * Cuts one span of a file into chunks from a chunk's start (see the `cut` request): reads
 * `span + max` bytes, so at least one whole chunk lies in them unless the file
 * ends first. The unfinished chunk at the end of what was read is cut again with the next span.
 * Each {@link SCAN_PIECE} is scanned as soon as it is read, while it is in this core's cache.
 */
function _cut(request: Extract<CodecRequest, { op: 'cut' }>): { lengths: number[]; end: boolean } {
  const { fd, position, span, gear, min, avg, max } = request;
  const want = span + max;
  const cutBuffer = _readBuffer(want);
  const scanner = createGearScanner(gear, { min, avg, max });
  const lengths: number[] = [];
  let read = 0;
  let end = false;
  while (read < want && !end) {
    const piece = Math.min(SCAN_PIECE, want - read);
    const got = readFully(fd, cutBuffer, read, piece, position + read);
    end = got < piece;
    lengths.push(...scanner.scan(cutBuffer.subarray(read, read + got)));
    read += got;
  }
  // Lengths only: the unfinished chunk at the end is read again with the next span, not copied.
  return { lengths: end ? withLastChunk(scanner, lengths) : lengths, end };
}

/**
 * Reads a small file into `frame` (see {@link _readInto}), then hashes and encodes it there
 * unless it was not read, is empty or grew past `maxSize`.
 */
function _fileBlob(
  path: string,
  frame: Buffer,
  maxSize: number,
  keys: RepositoryKeys,
  policy: CompressionPolicy,
): FileRead {
  return _encodeFileRead(_readInto(path, frame, maxSize), frame, maxSize, keys, policy);
}

/** Hashes and encodes a small file read into `frame` (see {@link _fileBlob}). */
function _encodeFileRead(
  read: ReturnType<typeof _readInto>,
  frame: Buffer,
  maxSize: number,
  keys: RepositoryKeys,
  policy: CompressionPolicy,
): FileRead {
  const { before, after, rawLength } = read;
  if (read.skipped || rawLength === 0 || rawLength > maxSize) return read;
  const id = blobId(keys, frame.subarray(PLAINTEXT_AT, PLAINTEXT_AT + rawLength));
  const length = encodeBlobInPlace(keys, 'data', id, frame, rawLength, policy);
  return { before, after, rawLength, blob: { id: new Uint8Array(id), length } };
}

/**
 * Reads a regular file into `slot` at {@link PLAINTEXT_AT}, at most `maxSize + 1` bytes: one more
 * than allowed tells the caller the file grew past it. Synchronous calls: this thread has nothing
 * else to do meanwhile, and each is a few microseconds from the page cache. The file is opened
 * without following a symbolic link and without waiting on a FIFO, since the caller knows it
 * only from its folder's listing; `skipped` when it is no regular file or already too large.
 */
function _readInto(
  path: string,
  slot: Buffer,
  maxSize: number,
): { before: FileVersion; after: FileVersion; rawLength: number; skipped?: true } {
  const fd = openSync(path, OPEN_LISTED_FILE);
  try {
    const before = _version(fstatSync(fd, { bigint: true }));
    if ((before.mode & _S_IFMT) !== _S_IFREG || before.size > maxSize) {
      return { before, after: before, rawLength: 0, skipped: true };
    }
    let total = 0;
    for (;;) {
      const n = readSync(fd, slot, PLAINTEXT_AT + total, maxSize + 1 - total, total);
      total += n;
      if (n === 0 || total > maxSize) break;
    }
    return { before, after: _version(fstatSync(fd, { bigint: true })), rawLength: total };
  } finally {
    closeSync(fd);
  }
}

/**
 * Decodes each blob of a `restore` request in turn and writes its files. A blob that fails to
 * decode fails its files; a file that fails leaves the others.
 */
function _restoreBlobs(
  request: Extract<CodecRequest, { op: 'restore' }>,
): (CodecFailure | FileWritten | null)[][] {
  const keys = _keys({ idKey: request.idKey, dataKey: request.dataKey });
  const { data, blobs } = request;
  const stored = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const results: (CodecFailure | FileWritten | null)[][] = [];
  for (const { at, plaintext, error } of _decodeEach(keys, stored, blobs)) {
    const files = blobs[at]?.files ?? [];
    if (!plaintext) {
      const failure = _failure(error);
      results.push(files.map(() => failure));
      continue;
    }
    results.push(
      files.map((file) => {
        try {
          return _restoreFile(file, plaintext) ?? null;
        } catch (error) {
          return _failure(error);
        }
      }),
    );
  }
  return results;
}

/** Decodes each blob of a `verify` request in turn: the places of those that fail. */
function _verifyBlobs(request: Extract<CodecRequest, { op: 'verify' }>): number[] {
  const keys = _keys({ idKey: request.idKey, dataKey: request.dataKey });
  const memory = Buffer.from(request.memory, request.offset, request.length);
  const bad: number[] = [];
  for (const { at, plaintext } of _decodeEach(keys, memory, request.blobs)) {
    if (!plaintext) bad.push(at);
  }
  return bad;
}

/**
 * Decodes the stored blobs lying in `memory` one at a time into this thread's scratch: each
 * blob's plaintext (valid until the next is decoded) or the error it failed with, by its place.
 * A blob without a type is a data blob; `what` names it in errors.
 */
function* _decodeEach(
  keys: RepositoryKeys,
  memory: Buffer,
  blobs: readonly (Omit<VerifyBlob, 'type'> & { type?: BlobType; what?: string })[],
): Generator<{ at: number; plaintext?: Buffer; error?: unknown }> {
  for (const [at, blob] of blobs.entries()) {
    const { id, offset, length, rawLength, type = 'data', what = 'blob' } = blob;
    if (offset + length > memory.length) {
      yield { at, error: new Error(`${what}: beyond the end`) };
      continue;
    }
    const encoded = memory.subarray(offset, offset + length);
    const out = _scratch(length + rawLength);
    try {
      yield {
        at,
        plaintext: decodeBlobInto(keys, type, Buffer.from(id), encoded, rawLength, what, out),
      };
    } catch (error) {
      yield { at, error };
    }
  }
}

/** Checks a restored file's content against its record, then writes it (see {@link _writeFile}). */
function _restoreFile(file: RestoreFile, content: Buffer): FileWritten | undefined {
  if (file.size !== undefined && content.length !== file.size) {
    throw new IntegrityError(`${file.what}: ${content.length} bytes read, ${file.size} expected`);
  }
  if (file.sha256 !== undefined && sha256Hex(content) !== file.sha256) {
    throw new IntegrityError(`${file.what}: content does not match its SHA-256`);
  }
  return _writeFile(file, content);
}

function _failure(error: unknown): CodecFailure {
  const message = error instanceof Error ? error.message : String(error);
  return { message, integrity: error instanceof Error && error.name === 'IntegrityError' };
}

/**
 * This thread's buffer to decode blobs into, reused blob after blob: decoding is synchronous, so
 * no two requests use it at once.
 */
const _scratch = reusedBuffer();

/**
 * Writes a restored file under its temporary name and renames it into place; on failure the
 * temporary file is removed. Synchronous calls, as in {@link _readInto}.
 * @returns the code of the `chown` error when its owner could not be given (util/owner-refusal.ts):
 * written without it, and without setuid and setgid bits; and its identity when asked for, from
 * its descriptor (by its path once renamed, a folder on the way may have been swapped for a link).
 */
function _writeFile(
  file: Pick<RestoreFile, 'path' | 'temp' | 'mode' | 'owner' | 'time' | 'identify'>,
  data: Buffer,
): FileWritten | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file.temp, 'wx', 0o600);
    for (let done = 0; done < data.length;) {
      done += writeSync(fd, data, done, data.length - done);
    }
    // Owner first: a change of owner clears the setuid and setgid bits the mode then sets.
    let refused: string | undefined;
    try {
      if (file.owner) fchownSync(fd, file.owner.uid, file.owner.gid);
    } catch (error) {
      refused = ownerRefusal(error);
    }
    fchmodSync(fd, refused ? file.mode & ~SETID_BITS : file.mode);
    futimesSync(fd, file.time, file.time);
    const identity = file.identify ? fileIdentity(fstatSync(fd, { bigint: true })) : undefined;
    closeSync(fd);
    fd = undefined;
    renameSync(file.temp, file.path);
    if (refused === undefined && identity === undefined) return undefined;
    return {
      ...(refused !== undefined ? { ownerNotSet: refused } : {}),
      ...(identity !== undefined ? { identity } : {}),
    };
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(file.temp, { force: true });
    throw error;
  }
}

const _S_IFMT = BigInt(constants.S_IFMT);
const _S_IFREG = BigInt(constants.S_IFREG);

function _version(st: FileVersion): FileVersion {
  const { size, mtimeNs, mode, dev, ino, ctimeNs, uid, gid, nlink, blocks } = st;
  return { size, mtimeNs, mode, dev, ino, ctimeNs, uid, gid, nlink, blocks };
}

/** Only the keys a request needs travel with it; the others are never used here. */
function _keys(given: { idKey?: Uint8Array; dataKey?: Uint8Array }): RepositoryKeys {
  const none = Buffer.alloc(0);
  const buffer = (key?: Uint8Array): Buffer => (key ? Buffer.from(key) : none);
  return {
    idKey: buffer(given.idKey),
    dataKey: buffer(given.dataKey),
    metaKey: none,
    chunkerKey: none,
  };
}

/** Bytes a request handled in this thread's memory (a pack's digest reads shared memory only). */
function _bytesOf(request: _OneReply, reply: CodecReply): number {
  if ('files' in reply) {
    return reply.files.reduce((sum, file) => sum + ('rawLength' in file ? file.rawLength : 0), 0);
  }
  if (request.op === 'restore') {
    // The stored bytes, and the decompressed plaintexts left behind.
    return request.blobs.reduce((sum, blob) => sum + blob.rawLength, request.data.byteLength);
  }
  if (request.op === 'verify') return request.blobs.reduce((sum, blob) => sum + blob.rawLength, 0);
  return request.op === 'digest' || request.op === 'files' || request.op === 'ranges'
    ? 0
    : request.length;
}

/**
 * Content streams: a byte stream becomes an ordered list of blob ids (chunked, saved, hashed),
 * and a list of blob ids becomes a verified byte stream again.
 * @module
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { IntegrityError, NotFoundError, UsageError } from '../errors.ts';
import type { BlobSaver } from './blob-saver.ts';
import { hashFileRanges, type BlobLease, type CutChunks, type RingChunk } from './codec-pool.ts';
import type { ByteBudget } from './byte-budget.ts';
import type { RepositoryKeys } from './crypto.ts';
import type { Chunker } from './chunker.ts';
import { readsInFlight } from '../stores/reads-in-flight.ts';
import { inPageCache } from '../util/page-cache.ts';
import { settleAll } from '../util/settle-all.ts';
import type { OpenRepository } from './repository.ts';

/** A stored byte stream. */
export interface StoredContent {
  /** Blob ids (hex) in order. */
  readonly content: string[];
  readonly size: number;
  /** SHA-256 (hex) of the whole stream, unless saved with `wholeHash: false`. */
  readonly sha256?: string;
}

/**
 * Plaintext bytes of chunk saves in flight per stream or new file (at least one chunk): each
 * chunk goes to a worker and back (hashed, then encoded if new) while this thread fills packs
 * (and, for a stream, cuts the next), so the workers wait on this thread's turns unless enough
 * are in flight. The benchmark's first backup took 8.17 instead of 8.60 s with 16 MiB instead of
 * 4 (6 alternating pairs, 5 faster, at most 5 MB more peak RSS); the codec pool's slots bound the
 * memory either way.
 */
const BYTES_IN_FLIGHT = 16 * 1024 * 1024;

/**
 * Bytes of a large file hashed per request in {@link saveFileCut} and {@link saveFileAlong}, and
 * in flight per file until hashed: a few chunks per request keep a worker hashing while this
 * thread is busy (a request per 1 MiB chunk waited 12-14 ms for it, the median, while the
 * benchmark's version 2 walked 20,000 small files beside its changed model). No memory is held
 * for them meanwhile. Twelve requests (about 40 ms of both workers' hashing) outlast most of this
 * thread's busy stretches of that walk (up to 130 ms, garbage collection and trees): with four,
 * the workers went without a request for 20-100 ms at a time; 48 measured the same as 12.
 */
const HASHED_PER_REQUEST = 8 * 1024 * 1024;
const HASHED_IN_FLIGHT = 12 * HASHED_PER_REQUEST;

/**
 * Chunks, deduplicates and stores a stream. Each buffer the source yields is done with (hashed,
 * and what is kept of it copied) before the next is asked for, so a source may fill one buffer
 * again and again.
 */
export async function saveContent(
  saver: BlobSaver,
  chunker: Chunker,
  source: AsyncIterable<Uint8Array>,
  options: {
    signal?: AbortSignal;
    onBytes?: (n: number) => void;
    /**
     * Also hash the whole stream with SHA-256 (default): a database backup's checksum a DBA can
     * compare with `sha256sum`. Files skip it: it costs a third of a backup's hashing, and every
     * blob is already verified by its keyed hash, its list by the authenticated tree.
     */
    wholeHash?: boolean;
  } = {},
): Promise<StoredContent> {
  const hash = options.wholeHash === false ? undefined : createHash('sha256');
  const saves = _orderedSaves(BYTES_IN_FLIGHT);
  const save = async (chunk: Buffer): Promise<void> => {
    await saver.ready(chunk.length);
    const saved = saver.save('data', chunk, options.signal);
    await saves.add(
      saved.then((id) => [{ id, length: chunk.length }]),
      chunk.length,
    );
  };
  for await (const data of source) {
    options.signal?.throwIfAborted();
    const buf = Buffer.isBuffer(data)
      ? data
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    hash?.update(buf);
    for (const chunk of chunker.push(buf)) await save(chunk);
    options.onBytes?.(buf.length);
  }
  const last = chunker.finish();
  if (last) await save(last);
  return { ...(await saves.done()), ...(hash ? { sha256: hash.digest('hex') } : {}) };
}

/**
 * Bytes of a file a codec worker cuts at a time in {@link saveFileCut}: with the chunk it may
 * leave unfinished (up to the largest chunk), what one worker holds for it.
 */
const CUT_SPAN = 8 * 1024 * 1024;

/**
 * Stores the open file `fd` as content, cut into chunks on a codec worker (see `cutFileAway`)
 * and each chunk read again, hashed and, if new, encoded on the others: this thread copies none
 * of a large file's bytes. A changed version of one, whose chunks are mostly stored already, is
 * hashed a request of chunks at a time and only its new chunks read again; with `mostlyNew` (a
 * new file) each chunk is read and hashed into a slot and, if new, encoded there; one not in the
 * page cache is read once instead, into the cut's ring, and each chunk copied out of it. Cut
 * here on the main thread instead, a new file's chunking (1.5 s of the benchmark's first backup,
 * whose main thread was busy 90 % of the time) held up the packing: 7.01-7.81 s against
 * 7.42-8.44 (3 pairs).
 * The same blobs as {@link saveContent} of the file's bytes, unless the file changes meanwhile;
 * then each blob holds what was read, and the size is what they add up to.
 */
export async function saveFileCut(
  saver: BlobSaver,
  cut: (span: number, readOnce: boolean) => AsyncIterable<CutChunks>,
  fd: number,
  options: SaveFileCutOptions = {},
): Promise<StoredContent> {
  const { mostlyNew = false, readOnce: asked, ...rest } = options;
  // Only where each chunk is taken out of the ring: the cut waits for that.
  const readOnce = mostlyNew && (asked ?? !inPageCache(fd));
  return _saveRanges(saver, fd, cut(CUT_SPAN, readOnce), { ...rest, each: mostlyNew });
}

/** Options of {@link saveFileCut}. */
export interface SaveFileCutOptions {
  readonly signal?: AbortSignal;
  readonly onBytes?: (n: number) => void;
  /** A new file: each chunk read, hashed and stored by itself (see {@link saveFileCut}). */
  readonly mostlyNew?: boolean;
  /**
   * With `mostlyNew`, whether the file is read once, into the cut's ring and past the page cache
   * (see ring-cut.ts). @default not when it seems to be in the page cache (see page-cache.ts)
   */
  readonly readOnce?: boolean;
}

/**
 * Stores the open file `fd`, a changed version of a stored file of the same size, along the
 * previous version's chunks: each range where a previous chunk lay is read, hashed and, if new,
 * encoded on the codec workers, as {@link saveFileCut} does with the chunks it cuts, and nothing
 * is cut. A model updated in place (weights rewritten, none inserted) keeps every unchanged
 * chunk and stores each changed one whole, where cutting it again would find about the same
 * boundaries: a 400 MB model's cut alone is a quarter to half a second of one core.
 *
 * Bytes that moved (inserted here, removed there) would make every chunk after them new, where
 * a cut finds them again: a few chunks spread over the file are hashed first, and unless most
 * of them are where they were, this stores nothing and resolves with undefined (the caller cuts
 * the file). A file that shrinks meanwhile ends where it ends; one that grows is stored up to
 * its former size (the caller marks both as changed while read, by size).
 */
export async function saveFileAlong(
  saver: BlobSaver,
  keys: RepositoryKeys,
  fd: number,
  previous: readonly { readonly id: Buffer; readonly length: number }[],
  options: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<StoredContent | undefined> {
  const offsets: number[] = [];
  let offset = 0;
  for (const chunk of previous) {
    offsets.push(offset);
    offset += chunk.length;
  }
  const n = previous.length;
  const probes = [...new Set([n >> 2, n >> 1, (3 * n) >> 2, n - 1])];
  // At once: the workers' round trips overlap. Every read ends before this settles: the caller
  // closes the file on an error.
  const found = await settleAll(
    probes.map(async (i) => {
      const chunk = previous[i];
      if (!chunk) return true;
      const [probe] = await hashFileRanges(keys, fd, offsets[i] ?? 0, [chunk.length]);
      return probe?.id?.equals(chunk.id) === true;
    }),
  );
  const moved = found.filter((same) => !same).length;
  if (2 * moved > probes.length) return undefined;
  // The previous chunks, a request's worth at a time.
  const requests: number[][] = [[]];
  let bytes = 0;
  for (const { length } of previous) {
    if (bytes >= HASHED_PER_REQUEST) {
      requests.push([]);
      bytes = 0;
    }
    requests.at(-1)?.push(length);
    bytes += length;
  }
  return _saveRanges(
    saver,
    fd,
    requests.map((lengths) => ({ lengths })),
    options,
  );
}

/**
 * Saves consecutive ranges of `fd`, from its start, as one content: `requests` gives their
 * lengths, a few chunks at a time. The chunks of a request are hashed in one request and only
 * the new ones read again to store (see `BlobSaver.saveRanges`); with `each` (chunks mostly
 * new), each chunk is read and hashed into a slot and, if new, encoded there
 * (`BlobSaver.saveRange`), so a new chunk is read and hashed once instead of twice; or copied
 * there out of the ring it was read into for its cut, when a request names its `chunks` there.
 */
async function _saveRanges(
  saver: BlobSaver,
  fd: number,
  requests: AsyncIterable<_Ranges> | Iterable<_Ranges>,
  options: { signal?: AbortSignal; onBytes?: (n: number) => void; each?: boolean },
): Promise<StoredContent> {
  const { signal, each = false } = options;
  const saves = _orderedSaves(each ? BYTES_IN_FLIGHT : HASHED_IN_FLIGHT);
  let position = 0;
  const add = async (
    saved: Promise<readonly { id?: Buffer; length: number }[]>,
    bytes: number,
    hashed?: Promise<unknown>,
  ): Promise<void> => {
    await saves.add(saved, bytes, hashed);
    position += bytes;
    options.onBytes?.(bytes);
  };
  try {
    for await (const { lengths, chunks } of requests) {
      signal?.throwIfAborted();
      if (!each) {
        const bytes = lengths.reduce((sum, length) => sum + length, 0);
        if (bytes === 0) continue;
        // The window counts these bytes until they are hashed, not until their new chunks are
        // stored: a store may wait for a pack's upload or a free slot (where it holds its bytes,
        // so memory stays bounded by those), and the next requests would wait with it, the
        // workers idle (the benchmark's version 2: 100-200 ms without hashing its changed model).
        let onHashed!: () => void;
        const hashed = new Promise<void>((resolve) => (onHashed = resolve));
        const saved = saver.saveRanges(fd, position, lengths, { signal, onHashed });
        await add(saved, bytes, Promise.race([hashed, saved]));
        continue;
      }
      for (const [k, length] of lengths.entries()) {
        signal?.throwIfAborted();
        await saver.ready(length);
        const chunk = chunks?.[k];
        const saved = chunk
          ? saver.saveRingChunk(chunk, signal)
          : saver.saveRange(fd, position, length, { signal });
        await add(
          saved.then((one) => [one]),
          length,
        );
      }
    }
  } catch (error) {
    // Nothing may read the file once the caller closes it on this error.
    await saves.settled();
    throw error;
  }
  return saves.done();
}

/** Consecutive ranges of a file by their lengths, and where they lie in a cut's ring if read so. */
interface _Ranges {
  readonly lengths: readonly number[];
  readonly chunks?: readonly RingChunk[];
}

/**
 * Chunk saves in flight, in the order of their content: at most about `limit` bytes (`add` waits
 * for the oldest beyond that), and then the content they make. Each save is of one or more
 * consecutive chunks; its bytes count until `released` settles (by default, the save itself).
 */
function _orderedSaves(limit: number): {
  add(
    saved: Promise<readonly { id?: Buffer; length: number }[]>,
    bytes: number,
    released?: Promise<unknown>,
  ): Promise<void>;
  done(): Promise<{ content: string[]; size: number }>;
  /** Resolves once every save has succeeded or failed (after an error elsewhere). */
  settled(): Promise<void>;
} {
  const saves: Promise<readonly { id?: Buffer; length: number }[]>[] = [];
  const releases: Promise<unknown>[] = [];
  const sizes: number[] = [];
  let oldest = 0;
  let inFlight = 0;
  return {
    async add(saved, bytes, released = saved) {
      // Awaited in `done`, in order (and `released` here, when oldest): these only avoid an early
      // unhandled rejection.
      saved.catch(() => undefined);
      released.catch(() => undefined);
      saves.push(saved);
      releases.push(released);
      sizes.push(bytes);
      inFlight += bytes;
      while (inFlight > limit && oldest < saves.length - 1) {
        await releases[oldest];
        inFlight -= sizes[oldest++] ?? 0;
      }
    },
    async settled() {
      await Promise.allSettled(saves);
    },
    async done() {
      const content: string[] = [];
      let size = 0;
      for (const { id, length } of (await Promise.all(saves)).flat()) {
        if (id) content.push(id.toString('hex'));
        size += length;
      }
      return { content, size };
    },
  };
}

/**
 * Blobs read ahead of the consumer when streaming content back from a local store (from a remote
 * one, as many as `readsInFlight` says).
 */
const READ_AHEAD = 6;

/**
 * Reads `length` bytes at `offset` of stored content (ranged reads: RESTORE FROM URL), as
 * {@link streamContentRange} streams them.
 * @throws NotFoundError when a blob is not in the index; UsageError when the range runs past the
 * end of the content.
 */
export async function readContentRange(
  repo: OpenRepository,
  content: readonly string[],
  offset: number,
  length: number,
  options: { signal?: AbortSignal; what: string },
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of await streamContentRange(repo, content, offset, length, options)) {
    parts.push(part as Buffer);
  }
  return Buffer.concat(parts, length);
}

/**
 * Streams `length` bytes at `offset` of stored content, a blob at a time as the consumer takes
 * them (with a few read ahead), so memory stays bounded however long the range. Only the blobs
 * that overlap the range are read, each verified; the first is found by a binary search over
 * where each blob ends, worked out once per content list (so pass the same array for each range
 * of one content: a restore reads a large backup in thousands of ranges).
 * @throws NotFoundError when a blob is not in the index; UsageError when the range runs past the
 * end of the content. Both before the stream starts; a blob that fails to read fails the stream.
 */
export async function streamContentRange(
  repo: OpenRepository,
  content: readonly string[],
  offset: number,
  length: number,
  options: { signal?: AbortSignal; what: string },
): Promise<Readable> {
  const ends = await _blobEnds(repo, content, options.what);
  if (offset < 0 || length < 0 || offset + length > (ends[content.length - 1] ?? 0)) {
    throw new UsageError(`range ${offset}+${length} is outside ${options.what}`);
  }
  // The first blob that ends past `offset`.
  let low = 0;
  let high = content.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((ends[middle] ?? 0) > offset) high = middle;
    else low = middle + 1;
  }
  const startOf = (i: number): number => (i === 0 ? 0 : (ends[i - 1] ?? 0));
  const readAhead = readsInFlight(repo.store, READ_AHEAD);
  async function* slices(): AsyncGenerator<Buffer> {
    const ahead: { at: number; read: Promise<Buffer> }[] = [];
    let next = low;
    const fill = (): void => {
      while (ahead.length < readAhead && next < content.length && startOf(next) < offset + length) {
        const read = repo.readBlob('data', Buffer.from(content[next] ?? '', 'hex'), options.signal);
        read.catch(() => undefined); // consumed in order below
        ahead.push({ at: startOf(next++), read });
      }
    };
    fill();
    for (let blob = ahead.shift(); blob; blob = ahead.shift()) {
      const bytes = await blob.read;
      fill();
      yield bytes.subarray(Math.max(0, offset - blob.at), offset + length - blob.at);
    }
  }
  // One blob waiting in the stream: with the reads ahead, all it holds besides the consumer's.
  return Readable.from(slices(), { highWaterMark: 1 });
}

/** Where each blob of a content list ends, by list (see {@link streamContentRange}). */
const _ends = new WeakMap<readonly string[], Float64Array>();

async function _blobEnds(
  repo: OpenRepository,
  content: readonly string[],
  what: string,
): Promise<Float64Array> {
  const known = _ends.get(content);
  if (known) return known;
  const index = await repo.index();
  const ends = new Float64Array(content.length);
  let at = 0;
  for (const [i, hex] of content.entries()) {
    const rawLength = index.get(Buffer.from(hex, 'hex'))?.rawLength;
    if (rawLength === undefined) {
      throw new NotFoundError(`blob ${hex.slice(0, 16)} of ${what} is not in the index`);
    }
    at += rawLength;
    ends[i] = at;
  }
  _ends.set(content, ends);
  return ends;
}

/**
 * Streams stored content back in order, each blob verified before it is emitted, and the whole
 * stream checked against `sha256` at the end.
 * @throws IntegrityError (as a stream error) naming `what` on any mismatch.
 */
export function readContent(
  repo: OpenRepository,
  stored: { content: readonly string[]; sha256?: string; size?: number },
  options: { signal?: AbortSignal; what: string },
): Readable {
  const readAhead = readsInFlight(repo.store, READ_AHEAD);
  async function* blobs(): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    const ahead: Promise<Buffer>[] = [];
    let next = 0;
    let size = 0;
    const fill = (): void => {
      while (ahead.length < readAhead && next < stored.content.length) {
        const id = Buffer.from(stored.content[next++] ?? '', 'hex');
        const read = repo.readBlob('data', id, options.signal);
        read.catch(() => undefined); // consumed in order below
        ahead.push(read);
      }
    };
    fill();
    while (ahead.length > 0) {
      const blob = await (ahead.shift() as Promise<Buffer>);
      fill();
      hash.update(blob);
      size += blob.length;
      yield blob;
    }
    if (stored.size !== undefined && size !== stored.size) {
      throw new IntegrityError(`${options.what}: ${size} bytes read, ${stored.size} expected`);
    }
    if (stored.sha256 !== undefined && hash.digest('hex') !== stored.sha256) {
      throw new IntegrityError(`${options.what}: content does not match its SHA-256`);
    }
  }
  return Readable.from(blobs(), { objectMode: false, highWaterMark: 1 });
}

/**
 * A positional writer: where {@link writeContents} puts verified bytes. A write resolves once all
 * `length` bytes are written, or rejects: a `FileHandle`'s may write fewer and say so only in its
 * result (wrap it with `writeFully`).
 */
export interface PositionalWriter {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<unknown>;
}

/**
 * Blob reads in flight per stream in {@link writeContents} from a local store, whatever the budget
 * allows (from a remote one, as many as `readsInFlight` says).
 */
const WRITE_AHEAD = 8;

/**
 * How far ahead of where it is first needed a blob is kept for another use (in any of the streams
 * written together, or later in the same one) rather than read and decoded again. The streams
 * are written in step, so a blob two streams hold at about the same place (a fine-tuned copy of
 * a model beside the model) is decoded once; one kept waits at most this many bytes of progress.
 */
const SHARE_SPAN = 16 * 1024 * 1024;

/**
 * Blobs kept at once for a later use. Each holds a slot of the codec pool (10 of them with two
 * workers), which the reads ahead need too; in step, a fine-tuned copy of the benchmark's model
 * beside the model kept one at a time.
 */
const KEPT_MAX = 2;

/** One stream for {@link writeContents}. */
export interface ContentToWrite {
  readonly stored: { readonly content: readonly string[]; sha256?: string; size?: number };
  readonly out: PositionalWriter;
  /** Names the stream in errors. */
  readonly what: string;
}

/**
 * Writes stored content to each stream's `out` with positional writes, reading blobs ahead while
 * `budget` (plaintext bytes, shared by every stream being written) allows. Each blob is verified
 * before it is written, and each stream is hashed in order and checked against its `sha256` and
 * `size` before this resolves, so the caller can rename the results into place only once they are
 * intact. The streams are written in step: each time the one least far along takes its next
 * blob. A blob is read and decoded once for every use of it within {@link SHARE_SPAN} bytes
 * ahead, in any of the streams, and written to each; so streams that share most of their blobs
 * (versions of one model) cost about one stream's decoding.
 * @returns the bytes written to each stream, in order.
 * @throws IntegrityError naming a stream's `what` on any mismatch; store and write errors as they
 * come, for the first stream that fails (the others are left unfinished: the caller discards them).
 */
export async function writeContents(
  repo: OpenRepository,
  streams: readonly ContentToWrite[],
  options: {
    budget: ByteBudget;
    signal?: AbortSignal;
    /** Told the bytes of each write as it completes, to any stream (for progress). */
    onWritten?: (bytes: number) => void;
  },
): Promise<number[]> {
  const { budget, signal, onWritten } = options;
  const index = await repo.index({ signal });
  const states = streams.map((stream) => ({
    ...stream,
    blobs: stream.stored.content.map((hex) => {
      const id = Buffer.from(hex, 'hex');
      return { hex, id, bytes: index.get(id)?.rawLength ?? 0 };
    }),
    // Only to check a recorded SHA-256: every blob is verified by its keyed hash anyway.
    hash: stream.stored.sha256 === undefined ? undefined : createHash('sha256'),
    /** The next blob to take, and where it starts in the stream. */
    next: 0,
    at: 0,
    /** Where the next write goes. */
    written: 0,
  }));
  type State = (typeof states)[number];
  // Where each blob is used: by stream, its positions in order.
  const uses = new Map<string, number[][]>();
  for (const [k, state] of states.entries()) {
    let position = 0;
    for (const { hex, bytes } of state.blobs) {
      const byStream = uses.get(hex) ?? [];
      (byStream[k] ??= []).push(position);
      uses.set(hex, byStream);
      position += bytes;
    }
  }
  /** A blob read once for `left` more takers; released when the last taker has written it. */
  interface Kept {
    readonly read: Promise<BlobLease>;
    left: number;
    unwritten: number;
  }
  const kept = new Map<string, Kept>();
  const queue: { state: State; kept: Kept; budgeted: number }[] = [];
  const release = (entry: Kept): void =>
    void entry.read.then(
      (lease) => lease.release(),
      () => undefined,
    );
  const settle = (entry: Kept): void => {
    if (--entry.unwritten === 0 && entry.left === 0) release(entry);
  };
  const writeHead = async (): Promise<void> => {
    const head = queue.shift();
    if (!head) return;
    try {
      const lease = await head.kept.read;
      const { state } = head;
      const blob = lease.bytes;
      state.hash?.update(blob);
      await state.out.write(blob, 0, blob.length, state.written);
      state.written += blob.length;
      onWritten?.(blob.length);
    } finally {
      settle(head.kept);
      budget.release(head.budgeted);
    }
  };
  /**
   * Takers of `hex` within the span ahead of `from`, beyond the one at (k, from): its uses not
   * yet taken (at or past where each stream is, past `from` in stream k) up to `from` + the span.
   * By binary search, since a blob may be used many times (a zero-filled region).
   */
  const takersAhead = (hex: string, k: number, from: number): number => {
    let n = 0;
    for (const [other, positions] of (uses.get(hex) ?? []).entries()) {
      if (!positions) continue;
      const start = other === k ? from + 1 : (states[other] as State).at;
      n += _countBetween(positions, start, from + SHARE_SPAN);
    }
    return n;
  };
  try {
    const limit = readsInFlight(repo.store, WRITE_AHEAD) * states.length;
    for (;;) {
      signal?.throwIfAborted();
      // The stream least far along takes its next blob.
      let k = -1;
      let state: State | undefined;
      for (const [i, candidate] of states.entries()) {
        if (candidate.next >= candidate.blobs.length) continue;
        if (!state || candidate.at < state.at) [k, state] = [i, candidate];
      }
      if (!state) break;
      const { hex, id, bytes } = state.blobs[state.next] as State['blobs'][number];
      const position = state.at;
      state.next++;
      state.at += bytes;
      let entry = kept.get(hex);
      let budgeted = 0;
      if (!entry) {
        while (queue.length > 0 && (queue.length >= limit || !budget.tryAcquire(bytes))) {
          await writeHead();
        }
        // Holding nothing now, so waiting cannot deadlock: other streams release as they write.
        if (queue.length === 0) await budget.acquire(bytes);
        budgeted = bytes;
        const read = repo.leaseBlob('data', id, signal);
        read.catch(() => undefined); // awaited in order by writeHead
        const left = kept.size < KEPT_MAX ? takersAhead(hex, k, position) : 0;
        entry = { read, left, unwritten: 0 };
        if (entry.left > 0) kept.set(hex, entry);
      } else {
        while (queue.length >= limit) await writeHead();
        entry.left--;
        if (entry.left === 0) kept.delete(hex);
      }
      entry.unwritten++;
      queue.push({ state, kept: entry, budgeted });
    }
    while (queue.length > 0) await writeHead();
  } finally {
    // On failure, give back what the reads still queued or kept hold.
    for (const q of queue.splice(0)) {
      budget.release(q.budgeted);
      settle(q.kept);
    }
    // Those kept for later uses: none of their queued uses is left now.
    for (const entry of kept.values()) release(entry);
    kept.clear();
  }
  for (const state of states) {
    if (state.stored.size !== undefined && state.written !== state.stored.size) {
      throw new IntegrityError(
        `${state.what}: ${state.written} bytes read, ${state.stored.size} expected`,
      );
    }
    if (state.hash && state.hash.digest('hex') !== state.stored.sha256) {
      throw new IntegrityError(`${state.what}: content does not match its SHA-256`);
    }
  }
  return states.map((state) => state.written);
}

/** How many of the ascending `values` lie in [low, high]. */
function _countBetween(values: readonly number[], low: number, high: number): number {
  const firstAtLeast = (bound: number): number => {
    let lo = 0;
    let hi = values.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((values[mid] as number) < bound) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return Math.max(0, firstAtLeast(high + 1) - firstAtLeast(low));
}

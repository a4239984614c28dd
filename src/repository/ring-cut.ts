/**
 * A codec worker's `cut` job that reads its file once (see the `cut` request's `ring`): the file
 * goes into a ring of shared memory a span at a time, past the page cache, each span cut there,
 * and the workers hashing the chunks copy them out of the ring instead of reading the file again.
 * For a new large file that is not in the page cache: on the virtual machines hbr is measured on,
 * filling page cache pages costs more CPU than the reads themselves (a cold first backup of the
 * benchmark took 7.6-8.3 s with its models already in the page cache, 8.6-9.5 without; read
 * once, 8.1-8.5). A file in the page cache is cut from there as usual, its chunks read again: a
 * copy out of the ring costs as much as that read, and the cut, bound to the ring, no longer runs
 * ahead (a warm first backup of the benchmark: 7.62 s against 7.30, every file read once).
 * The next span is read on the thread pool while this one is cut, into the piece of the ring the
 * main thread has given back; it waits for that only while every piece holds chunks not yet
 * copied.
 * @module
 */
import type { CodecReply, CodecRequest, RingPlace } from './codec-messages.ts';
import { withLastChunk } from './chunker.ts';
import { createGearScanner } from './gear-scan.ts';
import { copyBytes } from '../util/copy-bytes.ts';
import { DIRECT_ALIGN } from '../util/aligned-memory.ts';
import { pastCache } from '../util/direct-reads.ts';

/** A running ring cut, told of the bytes given back and of a cancel. */
export interface RingCut {
  /** Every chunk before the file position `through` has been copied out of the ring. */
  free(through: number): void;
  /** Ends the job at its next span, with an empty last reply. */
  cancel(): void;
}

/**
 * Starts a `cut` job with a ring: replies as `post`s, the last once nothing reads into the ring
 * any more (the main thread may then give it to another job) and the file descriptor this job
 * opened is closed; on a failure, the last is `failed(error)`.
 */
export function startRingCut(
  request: Extract<CodecRequest, { op: 'cut' }>,
  post: (reply: CodecReply) => void,
  failed: (error: unknown) => CodecReply,
): RingCut {
  const { job, fd, position, span, gear, min, avg, max, ring } = request;
  if (!ring) throw new Error('[codec] a ring cut without a ring');
  const size = ring.pieces * span;
  const memory = Buffer.from(ring.memory, 0, size);
  const base = position - (position % DIRECT_ALIGN);
  let freedThrough = base;
  let cancelled = false;
  let wake: (() => void) | undefined;
  const file = pastCache(fd);

  /** Resolves once piece `n` of the file may be read into the ring (false: cancelled). */
  const roomFor = async (n: number): Promise<boolean> => {
    // Piece `n` takes the place of piece `n - pieces`, which must be copied out whole.
    const needed = base + (n - ring.pieces + 1) * span;
    while (!cancelled && freedThrough < needed) await new Promise<void>((done) => (wake = done));
    return !cancelled;
  };
  /** Reads piece `n` of the file into its place: the bytes read (-1: cancelled first). */
  const readPiece = async (n: number): Promise<number> => {
    if (!(await roomFor(n))) return -1;
    const at = (n % ring.pieces) * span;
    return file.read(memory.subarray(at, at + span), base + n * span);
  };

  const run = async (): Promise<void> => {
    let reading: Promise<number> | undefined;
    let last: CodecReply = { job, cut: { lengths: [], end: true } };
    try {
      const scanner = createGearScanner(gear, { min, avg, max });
      let start = position; // the file position of the next chunk's start
      let next = readPiece(0);
      reading = next;
      for (let n = 0; ; n++) {
        const got = await next;
        reading = undefined;
        if (got < 0 || cancelled) break;
        const end = got < span;
        if (!end) reading = next = readPiece(n + 1);
        const at = (n % ring.pieces) * span;
        const skip = n === 0 ? position - base : 0;
        const lengths = scanner.scan(memory.subarray(at + skip, at + Math.max(skip, got)));
        if (end) withLastChunk(scanner, lengths);
        const cut = { lengths, end, at: (start - base) % size };
        for (const length of lengths) start += length;
        if (end) {
          last = { job, cut };
          break;
        }
        post({ job, cut });
        // Requests that came meanwhile (the chunks' copies among them) are served in between.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      last = failed(error);
    }
    cancelled = true;
    wake?.();
    await reading?.catch(() => undefined);
    try {
      file.close();
    } catch (error) {
      // The job's last reply comes whatever happens: the main thread waits for it.
      if (!('error' in last)) last = failed(error);
    }
    post(last);
  };
  void run();

  return {
    free(through) {
      freedThrough = Math.max(freedThrough, through);
      wake?.();
    },
    cancel() {
      cancelled = true;
      wake?.();
    },
  };
}

/** Copies a chunk out of a ring into all of `into`: from `at`, and on from the ring's start. */
export function copyOutOfRing(from: RingPlace, into: Buffer): void {
  const { memory, size, at } = from;
  const first = Math.min(into.length, size - at);
  copyBytes(Buffer.from(memory, at, first), into);
  if (first < into.length) copyBytes(Buffer.from(memory, 0, into.length - first), into, first);
}

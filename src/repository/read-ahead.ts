/**
 * Reading small files ahead into the page cache when they come from the device. A codec worker
 * reads the small files of a backup one after another with synchronous calls (from the page
 * cache, a few microseconds each); from the device, each read waited there for its own trip
 * (the benchmark's first backup from a cold cache: 2.3 s of each worker's 10, the cores half
 * idle), where the device serves several at once. So a worker whose first reads are slow starts
 * reading the next files on the thread pool, and its own reads find them there or wait for less.
 * @module
 */
import { closeSync, openSync, read } from 'node:fs';
import { OPEN_LISTED_FILE } from '../util/open-flags.ts';

/**
 * A read of a small file taking longer than this (milliseconds) came from the device, not the page
 * cache (17 KB from the page cache: about 0.02 ms here; from the device: 0.2 ms and more).
 */
export const SLOW_READ_MS = 0.1;

/**
 * Slow first reads in a row that mean reading from the device. One is not enough: a thread is
 * descheduled now and then while the cores are busy, and its read then takes as long (in a first
 * backup of the benchmark with every file in the page cache, about one read in seven did). With
 * two, such a backup read about 4,000 of its 20,000 files ahead for nothing (each time up to
 * {@link PROBE_EVERY} requests, until a probe); with three, 1,000-1,400.
 */
export const SLOW_IN_A_ROW = 3;

/**
 * While reading from the device, one request in this many has its first file read unhelped, to
 * tell whether the files still come from there; the others are read ahead whole.
 */
export const PROBE_EVERY = 4;

/** Which files of each request of small files to read ahead, from how the first reads went. */
export interface ReadAheadPolicy {
  /**
   * When a request arrives: its files to read ahead now, while the requests before it are served
   * (the caller serves it after them). While reading from the device, all of them, but for one
   * request in {@link PROBE_EVERY}: all but its first. Otherwise none.
   */
  onReceive(paths: readonly string[]): readonly string[];
  /**
   * After a request's first file, not read ahead, was read in `ms`: of `others` (its files not
   * read ahead yet), those to read ahead now: all of them once that read makes
   * {@link SLOW_IN_A_ROW} slow ones in a row, or keeps reading from the device.
   */
  afterFirst(ms: number, others: readonly string[]): readonly string[];
}

/** A policy for one thread's requests, in the order it serves them. */
export function readAheadPolicy(): ReadAheadPolicy {
  let slowInARow = 0;
  let sinceProbe = 0;
  const fromDevice = (): boolean => slowInARow >= SLOW_IN_A_ROW;
  return {
    onReceive(paths) {
      if (!fromDevice()) return [];
      sinceProbe = (sinceProbe + 1) % PROBE_EVERY;
      return sinceProbe === 0 ? paths.slice(1) : paths;
    },
    afterFirst(ms, others) {
      slowInARow = ms > SLOW_READ_MS ? slowInARow + 1 : 0;
      return fromDevice() ? others : [];
    },
  };
}

/**
 * Starts reading up to `into.length` bytes of each of `paths` on the thread pool, into `into`,
 * whose bytes nobody looks at (the reads overwrite each other). Each file is opened here, as the
 * read that follows opens it (without following a symbolic link, without waiting on a FIFO), and
 * closed once read. A file that cannot be opened or read is skipped: the read that follows
 * reports it.
 * @returns a promise that resolves once every file opened is closed again (nothing needs to wait
 * for it).
 */
export function readAhead(paths: readonly string[], into: Buffer): Promise<void> {
  const reads: Promise<void>[] = [];
  for (const path of paths) {
    let fd: number;
    try {
      fd = openSync(path, OPEN_LISTED_FILE);
    } catch {
      continue;
    }
    reads.push(
      new Promise((resolve) =>
        read(fd, into, 0, into.length, 0, () => {
          closeSync(fd);
          resolve();
        }),
      ),
    );
  }
  return Promise.all(reads).then(() => undefined);
}

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
 * backup of the benchmark with every file in the page cache, about one read in seven did; two in
 * a row, one in sixty).
 */
export const SLOW_IN_A_ROW = 2;

/** Which files of each request of small files to read ahead, from how their first reads went. */
export interface ReadAheadPolicy {
  /** Before the first file of a request is read: all of them while reading from the device. */
  atStart(paths: readonly string[]): readonly string[];
  /**
   * After its first file was read in `ms`: the request's others when that read makes
   * {@link SLOW_IN_A_ROW} slow ones in a row (from the next request on, `atStart` reads all).
   */
  afterFirst(ms: number, paths: readonly string[]): readonly string[];
}

/** A policy for one thread's requests, in the order it serves them. */
export function readAheadPolicy(): ReadAheadPolicy {
  let slowInARow = 0;
  return {
    atStart: (paths) => (slowInARow >= SLOW_IN_A_ROW ? paths : []),
    afterFirst(ms, paths) {
      slowInARow = ms > SLOW_READ_MS ? slowInARow + 1 : 0;
      return slowInARow === SLOW_IN_A_ROW ? paths.slice(1) : [];
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

/**
 * Telling whether a file is in the page cache, from how fast a few small reads of it come back.
 * Linux offers no call for it on a file descriptor (`mincore` wants the file mapped); a read of
 * one block from the page cache is a copy of microseconds, where one from the device waits for
 * its trip there, and a file read whole once is read through or past the cache (see ring-cut.ts)
 * by what this says.
 * @module
 */
import { fstatSync, readSync } from 'node:fs';

/** Bytes of each read; a block of any device. */
export const PROBE_BYTES = 4096;

/**
 * A read of {@link PROBE_BYTES} taking no longer than this (milliseconds) came from the page
 * cache. Measured here in first backups of the benchmark's models: 0.008-0.055 ms from the page
 * cache (most under 0.03), 0.059-3.5 from the device right after `drop_caches`.
 */
export const CACHED_READ_MS = 0.04;

/**
 * Whether the open file `fd` seems to be in the page cache: a read of a block at its start or at
 * a quarter, half or three quarters of it came back as fast as from there. Several, since a
 * thread descheduled meanwhile reads as slowly as the device; a file partly cached counts as
 * cached, as does an empty one. Four synchronous reads: at most a few milliseconds from the
 * device, a tenth of one from the cache.
 */
export function inPageCache(fd: number): boolean {
  const { size } = fstatSync(fd);
  const block = Buffer.allocUnsafe(PROBE_BYTES);
  for (let quarter = 0; quarter < 4; quarter++) {
    const at = Math.floor((size * quarter) / 4 / PROBE_BYTES) * PROBE_BYTES;
    const started = performance.now();
    if (readSync(fd, block, 0, PROBE_BYTES, at) === 0) return true;
    if (performance.now() - started <= CACHED_READ_MS) return true;
  }
  return false;
}

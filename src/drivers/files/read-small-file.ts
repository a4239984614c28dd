/**
 * Reading a file of the backup whole, on the calling thread: one of more than one chunk but under
 * 1 MiB (smaller ones are read on the codec workers, larger ones cut there).
 * @module
 */
import { closeSync, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { OPEN_LISTED_FILE } from '../../util/open-flags.ts';

/**
 * Reads a small file whole with synchronous calls (open, fstat, read, fstat, close): each is a
 * few microseconds from the page cache, less than a thread-pool round trip. Reads past the size
 * `fstat` gave, so a file that grew while read is stored whole (and marked by the caller). The
 * file is known from its folder's listing or an lstat a moment before: opened as such (a
 * symbolic link is not followed, a FIFO not waited on) and read only if it is a regular file.
 * @throws Error when it is no longer a regular file (ELOOP for a link).
 */
export function readSmallFile(path: string): {
  before: BigIntStats;
  data: Buffer;
  after: BigIntStats;
} {
  const fd = openSync(path, OPEN_LISTED_FILE);
  try {
    const before = fstatSync(fd, { bigint: true });
    if (!before.isFile()) throw new Error('no longer a regular file: skipped');
    const parts: Buffer[] = [];
    let total = 0;
    for (let want = Number(before.size) + 1; ; want = 64 * 1024) {
      const buffer = Buffer.allocUnsafe(want);
      const n = readSync(fd, buffer, 0, want, total);
      if (n > 0) parts.push(n === want ? buffer : buffer.subarray(0, n));
      total += n;
      // The first read asks one byte more than fstat said: a short read is the end of the file.
      // A small file growing without end is cut at 64 MiB (stored marked as changed while read).
      if (n < want || total >= 64 * 1024 * 1024) break;
    }
    const after = fstatSync(fd, { bigint: true });
    const data = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
    return { before, data, after };
  } finally {
    closeSync(fd);
  }
}

/**
 * A positional read that does not stop at a short read: files of the local file system may
 * return fewer bytes than asked before their end (signals, some network file systems).
 * @module
 */
import { read, readSync } from 'node:fs';

/**
 * Reads `length` bytes at `position` of the open file `fd` into `into` at `offset`,
 * synchronously, stopping early only at the end of the file. Returns how many were read.
 */
export function readFully(
  fd: number,
  into: Uint8Array,
  offset: number,
  length: number,
  position: number,
): number {
  let total = 0;
  while (total < length) {
    const n = readSync(fd, into, offset + total, length - total, position + total);
    if (n === 0) break;
    total += n;
  }
  return total;
}

/**
 * {@link readFully} on the thread pool: one round trip per read call (usually one), where a
 * `FileHandle` read costs the same trip plus a promise-wrapped handle to create and close.
 */
export async function readFullyAsync(
  fd: number,
  into: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  let total = 0;
  while (total < length) {
    const n = await new Promise<number>((resolve, reject) => {
      read(fd, into, offset + total, length - total, position + total, (error, bytesRead) =>
        error ? reject(error) : resolve(bytesRead),
      );
    });
    if (n === 0) break;
    total += n;
  }
  return total;
}

/**
 * Reads of an open file past the page cache (`O_DIRECT`), for a large file read once that is not
 * in the page cache (see page-cache.ts): on the virtual machines hbr is measured on, filling page
 * cache pages costs more CPU than the reads themselves (bench/README). The file gets a second
 * descriptor of its own, opened through `/proc/self/fd` (the same file, whatever its path names
 * now); where that cannot be done (another platform, no `/proc`) or the file system refuses
 * (`EINVAL`), the reads go through the page cache instead. Offsets, lengths and memory must be
 * aligned to `DIRECT_ALIGN` (see aligned-memory.ts).
 * @module
 */
import { closeSync, constants, openSync, read } from 'node:fs';
import { promisify } from 'node:util';
import { O_DIRECT } from './open-flags.ts';
import { readFullyAsync } from './read-fully.ts';

/** An open file read past the page cache where it can be; see the module. */
export interface PastCacheFile {
  /**
   * Fills `into` from `position` as far as the file goes, on the thread pool: the bytes read
   * (fewer only at the end of the file).
   */
  read(into: Buffer, position: number): Promise<number>;
  /** Closes the second descriptor (not `fd`). */
  close(): void;
}

/** Reads of the open file `fd` past the page cache; see the module. */
export function pastCache(fd: number): PastCacheFile {
  let direct: number | undefined;
  if (O_DIRECT !== undefined) {
    try {
      direct = openSync(`/proc/self/fd/${fd}`, constants.O_RDONLY | O_DIRECT);
    } catch {
      direct = undefined;
    }
  }
  /** After a refusal, the file is read through the page cache. */
  const refused = (error: unknown): void => {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
    if (direct !== undefined) closeSync(direct);
    direct = undefined;
  };
  return {
    async read(into, position) {
      let total = 0;
      if (direct !== undefined) {
        try {
          // Whole unless the file ends first; the end, and anything after a short read, below.
          total = (await _read(direct, into, 0, into.length, position)).bytesRead;
        } catch (error) {
          refused(error);
        }
      }
      return total + (await readFullyAsync(fd, into, total, into.length - total, position + total));
    },
    close() {
      if (direct !== undefined) closeSync(direct);
      direct = undefined;
    },
  };
}

const _read = promisify(read);

/**
 * A positional write that does not stop at a short write: a write may put fewer bytes in the file
 * than it was given (the disk filling up, a file size limit) and report it only in its count,
 * which callers that count the bytes they gave would miss, keeping a file cut short.
 * @module
 */
import type { FileHandle } from 'node:fs/promises';

/**
 * Writes `length` bytes of `buffer` from `offset` at `position` of `handle`, in as many calls as
 * it takes. The error of the call that cannot go on (ENOSPC, EFBIG) is thrown.
 * @throws Error when a call writes nothing without an error.
 */
export async function writeFully(
  handle: FileHandle,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<void> {
  for (let done = 0; done < length;) {
    const { bytesWritten } = await handle.write(
      buffer,
      offset + done,
      length - done,
      position + done,
    );
    if (bytesWritten === 0) throw new Error(`nothing written at ${position + done}`);
    done += bytesWritten;
  }
}

import { constants } from 'node:fs';

/**
 * Flags for opening a file the caller found a regular file by its folder's listing or `lstat`:
 * read-only, not following a symbolic link and not waiting on a FIFO (`O_NOFOLLOW`, `O_NONBLOCK`,
 * where the platform has them: not on Windows), in case it was replaced meanwhile. The caller
 * checks with `fstat` that it opened a regular file. Regular files read as without the flags.
 */
export const OPEN_LISTED_FILE =
  constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * `O_DIRECT` (reads and writes past the page cache), where the platform has it: Linux; undefined
 * elsewhere (see direct-reads.ts, direct-writes.ts).
 */
export const O_DIRECT: number | undefined = (constants as { O_DIRECT?: number }).O_DIRECT;

/**
 * Folders as the scan saw them, kept for the backup's walk. The scan runs while the repository
 * key is derived (a quarter second in which this thread has little else to do); the walk that
 * follows would list every folder and `lstat` every entry again, and a BigInt `lstat` alone
 * costs 6-7 us of this thread (20,000 files: 130-155 ms of an unchanged re-backup). The walk
 * takes the scan's listings and stats instead.
 *
 * A folder seen a moment before the walk is as good as one seen during it: a file is compared
 * with its parent backup's version by size, mtime, inode and ctime, and one changed after the scan
 * keeps its old values in the new backup, so the next backup sees it changed; one created after
 * the scan is in the next backup. The walk uses a kept stat only for folders, symlinks and files
 * it will not read: a file it reads is stat'ed again, and its content checked against that.
 * @module
 */
import { constants, lstatSync, type Dirent } from 'node:fs';
import type { FileVersion } from '../../repository/index.ts';
import { childPath } from './child-path.ts';
import type { Excluder } from './excludes.ts';

/** The fields of an `lstat` the walk uses; the file type is in `mode`'s high bits. */
export type SeenStat = FileVersion;

/**
 * One folder: its entries sorted by name, and beside them the stats of those the scan did not
 * exclude, `STAT_FIELDS` numbers each in the entries' order (a mode of 0: none). Numbers in one
 * array, not an object and five BigInts an entry: what a walk keeps alive is what its garbage
 * collections copy.
 */
export interface SeenFolder {
  readonly entries: readonly Dirent[];
  readonly stats: BigUint64Array;
}

/**
 * Numbers kept per entry: size, mtime (ns), mode, device, inode, ctime (ns), uid, gid, link
 * count, blocks allocated.
 */
export const STAT_FIELDS = 10;

/** Writes entry `i`'s stat into `stats`. */
export function putStat(stats: BigUint64Array, i: number, st: SeenStat): void {
  const at = i * STAT_FIELDS;
  stats[at] = st.size;
  stats[at + 1] = st.mtimeNs;
  stats[at + 2] = st.mode;
  stats[at + 3] = st.dev;
  stats[at + 4] = st.ino;
  stats[at + 5] = st.ctimeNs;
  stats[at + 6] = st.uid;
  stats[at + 7] = st.gid;
  stats[at + 8] = st.nlink;
  stats[at + 9] = st.blocks;
}

/**
 * A folder the scan did not keep, seen now as it would have seen it: the stats of `entries`
 * (sorted by name) that `excluder` does not exclude, one synchronous `lstat` each; an entry that
 * cannot be stat'ed has none.
 */
export function seeFolder(
  path: string,
  entries: readonly Dirent[],
  excluder: Excluder,
): SeenFolder {
  const stats = new BigUint64Array(entries.length * STAT_FIELDS);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as Dirent;
    const child = childPath(path, entry.name);
    if (excluder.excludes(child, entry.isDirectory())) continue;
    try {
      putStat(stats, i, lstatSync(child, { bigint: true }));
    } catch {
      // No stat: the walk stats it again and reports what fails.
    }
  }
  return { entries, stats };
}

/** Entry `i`'s stat, if the scan took one. */
export function statAt(folder: SeenFolder, i: number): SeenStat | undefined {
  const { stats } = folder;
  const at = i * STAT_FIELDS;
  const mode = stats[at + 2];
  if (!mode) return undefined;
  return {
    size: stats[at] ?? 0n,
    mtimeNs: stats[at + 1] ?? 0n,
    mode,
    dev: stats[at + 3] ?? 0n,
    ino: stats[at + 4] ?? 0n,
    ctimeNs: stats[at + 5] ?? 0n,
    uid: stats[at + 6] ?? 0n,
    gid: stats[at + 7] ?? 0n,
    nlink: stats[at + 8] ?? 0n,
    blocks: stats[at + 9] ?? 0n,
  };
}

/**
 * Whether a file of `size` bytes with `blocks` 512-byte blocks allocated is sparse: it lacks at
 * least one whole 4 KiB block, a hole (or, on a file system that compresses, such as ZFS, it
 * takes less room than its size; a restore then leaves its zero blocks unwritten, which such a
 * file system does itself). Less than a block short is rounding, never a hole.
 */
export function isSparse(size: number, blocks: number): boolean {
  return blocks * 512 + 4096 <= size;
}

/** At most this many entries are kept (some 150 bytes each with their listing: about 5 MB). */
const CAPACITY = 32_768;

export class SeenFolders {
  readonly #folders = new Map<string, SeenFolder>();
  readonly #capacity: number;
  #entries = 0;
  #open = true;
  #newestMtimeNs = 0n;

  /** Keeps folders until they hold `capacity` entries; the walk lists the rest itself. */
  constructor(capacity = CAPACITY) {
    this.#capacity = capacity;
  }

  /** Whether folders are still kept: the scan takes BigInt stats only then. */
  get open(): boolean {
    return this.#open && this.#entries < this.#capacity;
  }

  /** Keeps a folder's listing (sorted by name) and its entries' stats, while open. */
  remember(path: string, entries: readonly Dirent[], stats: BigUint64Array): void {
    if (!this.open) return;
    this.#folders.set(path, { entries, stats });
    this.#entries += entries.length;
    // Each entry's mtime, its second field (see putStat).
    for (let at = 1; at < stats.length; at += STAT_FIELDS) {
      const mtime = stats[at] ?? 0n;
      if (mtime > this.#newestMtimeNs) this.#newestMtimeNs = mtime;
    }
  }

  /**
   * Whether an entry kept so far was modified after `time` (mtime): a hint that a backup whose
   * parent started then will read files, never a verdict (mtimes can be set back, and the scan
   * may not be done).
   */
  modifiedAfter(time: Date): boolean {
    return this.#newestMtimeNs > BigInt(time.getTime()) * 1_000_000n;
  }

  /** Stops keeping folders; with `forget`, drops those kept (a backup with no parent reads all). */
  close(forget = false): void {
    this.#open = false;
    if (forget) this.#folders.clear();
  }

  /** The folder kept for `path`, once (the walk visits each folder once). */
  take(path: string): SeenFolder | undefined {
    const folder = this.#folders.get(path);
    if (folder) this.#folders.delete(path);
    return folder;
  }
}

const TYPE_BITS = BigInt(constants.S_IFMT);
const TYPES = new Map<bigint, 'dir' | 'file' | 'symlink' | 'fifo' | 'socket'>([
  [BigInt(constants.S_IFDIR), 'dir'],
  [BigInt(constants.S_IFREG), 'file'],
  [BigInt(constants.S_IFLNK), 'symlink'],
  [BigInt(constants.S_IFIFO), 'fifo'],
  [BigInt(constants.S_IFSOCK), 'socket'],
]);

/**
 * The file type in an `lstat` mode: a folder, a regular file, a symlink, a FIFO, a socket, or
 * anything else (a device).
 */
export function typeOfMode(mode: bigint): 'dir' | 'file' | 'symlink' | 'fifo' | 'socket' | 'other' {
  return TYPES.get(mode & TYPE_BITS) ?? 'other';
}

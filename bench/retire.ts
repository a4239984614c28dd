/**
 * Clearing away what a measured step made, without deleting files while the benchmark measures.
 *
 * On ext4 without a journal (this machine's root file system: `/sys/fs/ext4/<dev>/journal_task`
 * is `<none>`), the inode allocator skips a free inode deleted less than 60 s ago, or less than
 * 360 s ago while its inode table block is dirty, as a newly created file makes it. Each file
 * created then looks up every such inode before a usable one, in the buffer cache: after 20,000
 * files were deleted, creating 20,000 others took 4.4-6.9 s of system time instead of 1.0-1.4 s
 * (`bench/micro/recent-deletes.ts`). The benchmark deletes each restore, 20,000 files, seconds
 * before the next tool's steps: deleting it would tax the next restore by how much and how
 * recently the previous tool's run deleted, not by anything the tool does.
 *
 * So a tree is retired instead: its files truncated to nothing (their space freed at once, their
 * inodes kept), the tree moved into a folder of retired trees, and that folder deleted once
 * nothing is measured any more.
 * @module
 */
import { lstat, mkdir, readdir, rename, rm, truncate } from 'node:fs/promises';
import { basename, join } from 'node:path';

/**
 * Empties every file under `path` and moves `path` into `retired` (made when missing). Nothing
 * happens when `path` does not exist. A tree on another file system than `retired` is deleted.
 */
export async function retire(path: string, retired: string): Promise<void> {
  const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (stats === undefined) return;
  if (stats.isFile()) await truncate(path, 0);
  if (stats.isDirectory()) {
    for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) await truncate(join(entry.parentPath, entry.name), 0);
    }
  }
  await mkdir(retired, { recursive: true });
  const destination = join(retired, `${Date.now()}-${(count++).toString()}-${basename(path)}`);
  try {
    await rename(path, destination);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await rm(path, { recursive: true, force: true });
  }
}

/** Deletes the retired trees (call it when no measured step follows). */
export async function removeRetired(retired: string): Promise<void> {
  await rm(retired, { recursive: true, force: true });
}

let count = 0;

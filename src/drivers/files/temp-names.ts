/**
 * The temporary names a restore writes files under before renaming them into place, and the
 * removal of those a killed restore left behind.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * A temporary name beside `path` for the file being restored there: unique within this process
 * by a counter, across processes by the pid and a random part drawn once (a restore creates its
 * files exclusively, so a clash fails loudly rather than overwriting).
 */
export function tempName(path: string): string {
  return join(dirname(path), `.${_TEMP_PREFIX}${(tempCount++).toString(36)}.hbr-restore`);
}

const _TEMP_PREFIX = `${process.pid.toString(36)}-${randomBytes(4).toString('hex')}-`;
let tempCount = 0;

/** Exactly the names {@link tempName} gives, the pid that gave it captured. */
const _TEMP_NAME = /^\.([0-9a-z]+)-[0-9a-f]{8}-[0-9a-z]+\.hbr-restore$/;

/**
 * Removes from `folder` the regular files named as this restore names its temporary files by a
 * process that is no longer running: what a killed restore left (a SIGKILL gives it no chance
 * to clean up; 96 MB of them were seen). A restore still running keeps its own.
 */
export async function removeStaleTemps(
  folder: string,
): Promise<{ removed: number; failures: { path: string; error: unknown }[] }> {
  let removed = 0;
  const failures: { path: string; error: unknown }[] = [];
  // A folder that cannot be listed (no read permission) is restored into all the same; what
  // was left in it stays, as it would without this.
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    const pid = _TEMP_NAME.exec(name)?.[1];
    if (pid === undefined || _running(parseInt(pid, 36))) continue;
    const path = join(folder, name);
    try {
      if (!(await lstat(path)).isFile()) continue;
      await rm(path);
      removed++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      failures.push({
        path,
        error: new Error(`left by an interrupted restore: ${(error as Error).message}`),
      });
    }
  }
  return { removed, failures };
}

/** Whether process `pid` is running (here: a restore's temporary names are made beside it). */
function _running(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

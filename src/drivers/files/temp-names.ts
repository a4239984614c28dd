/**
 * The temporary names a restore writes files under before renaming them into place, and the
 * finding of those a killed restore left behind.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
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

/** Exactly the names {@link tempName} gives. */
const _TEMP_NAME = /^\.[0-9a-z]+-[0-9a-f]{8}-[0-9a-z]+\.hbr-restore$/;

/**
 * The files in `folder` named as a restore names its temporary files, other than this
 * process's own: what a killed restore left (a SIGKILL gives it no chance to clean up; 96 MB of
 * them were seen), or one still running. They are only reported, never removed: a pid says
 * nothing of a restore in another pid namespace or on another host writing to the same NFS
 * folder (one lost its 300 MB file in progress), and a user's own file may match the name.
 * A folder that cannot be listed gives none: the restore goes on in it all the same.
 */
export async function findLeftoverTemps(folder: string): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  return names
    .filter((name) => _TEMP_NAME.test(name) && !name.startsWith(`.${_TEMP_PREFIX}`))
    .map((name) => join(folder, name));
}

/**
 * Where a path given to a files backup really is. A backup records every folder above a path
 * as a folder: one reached through a symlink (`lk/data` with `lk` → `/mnt/disk1`) would come
 * back from an in-place restore as a real folder in place of the user's link (on a merged-/usr
 * system, `/lib`). So each path is recorded where it really is: its parent through `realpath`,
 * and a path that is itself a link as what it leads to, a folder (`/data` → `/mnt/disk1/data`)
 * or a file (`/data/model` → `/mnt/disk1/model.bin`) alike, as `find -H` follows links named on
 * its command line: the user named the link for what it leads to, and a backup of the link
 * alone holds none of it. Only a link that leads nowhere stays a link; links met inside the
 * folders backed up are always recorded as links.
 * @module
 */
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** One path as given (absolute) and as it will be recorded. */
export interface RecordedPath {
  readonly given: string;
  readonly recorded: string;
}

/**
 * The real path of each of `paths` (absolute) as the backup will record it. A path whose parent
 * cannot be resolved (it does not exist) is kept as given: the backup reports it.
 */
export async function recordedPaths(paths: readonly string[]): Promise<RecordedPath[]> {
  return Promise.all(paths.map(async (given) => ({ given, recorded: await _recorded(given) })));
}

/**
 * `exclude` with each absolute pattern that starts with a path given through a link also
 * spelled through the path recorded: entries are matched against recorded paths, so
 * `--exclude /x/lk/data/cache` of `/x/lk/data` (`lk` → `real`) excluded nothing. The patterns
 * as given are kept (a path given as it really is matches them).
 */
export function excludesAsRecorded(
  exclude: readonly string[],
  paths: readonly RecordedPath[],
): string[] {
  const out = [...exclude];
  for (const pattern of exclude) {
    for (const { given, recorded } of paths) {
      if (given === recorded) continue;
      const rest =
        pattern === given
          ? ''
          : pattern.startsWith(`${given}/`)
            ? pattern.slice(given.length)
            : undefined;
      if (rest !== undefined && !out.includes(recorded + rest)) out.push(recorded + rest);
    }
  }
  return out;
}

// --- internal ---

async function _recorded(path: string): Promise<string> {
  const parent = dirname(path);
  if (parent === path) return path; // the root
  let real: string;
  try {
    real = join(await realpath(parent), basename(path));
  } catch {
    return path;
  }
  const own = await lstat(real).catch(() => undefined);
  if (!own?.isSymbolicLink()) return real;
  return realpath(real).catch(() => real); // a link that leads nowhere
}

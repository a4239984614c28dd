/**
 * Where a path given to a files backup really is. A backup records every folder above a path
 * as a folder: one reached through a symlink (`lk/data` with `lk` → `/mnt/disk1`) would come
 * back from an in-place restore as a real folder in place of the user's link (on a merged-/usr
 * system, `/lib`). So each path is recorded where it really is: its parent through `realpath`,
 * and a path that is itself a link to a folder as the folder it leads to, as `find -H` and
 * restic's users expect of `/data` → `/mnt/disk1/data`. A link to a file, or one that leads
 * nowhere, stays a link: it is what the user named.
 * @module
 */
import { lstat, realpath, stat } from 'node:fs/promises';
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
  const target = await stat(real).catch(() => undefined);
  return target?.isDirectory() ? realpath(real) : real;
}

/**
 * Naming a files backup on the command line (`hbr ls`, `hbr diff`, `hbr restore`): an id, a
 * unique prefix, or `latest`, which `--source` and `--path` narrow alike in every command (as
 * restic's `--path` and `--host` do), and how an incomplete backup is told.
 * @module
 */
import { resolve } from 'node:path';
import { recordedPaths } from '../drivers/files/real-paths.ts';
import { HbrError, UsageError } from '../errors.ts';
import { holdsPath, type BackupFilter, type BackupRecord } from '../repository/index.ts';

/** The `--source` and `--path` flags as commander hands them over. */
export interface LatestFlags {
  source?: string;
  path?: string[];
}

/** Help of `--source`, the same in every command that names backups. */
export const SOURCE_HELP = 'with "latest": the latest backup of this source';
/** Help of `--path`, the same in every command that names backups. */
export const PATH_HELP =
  'with "latest": the latest backup that holds this path (one of its paths is it, or a folder above it); repeatable';

/**
 * The filter `latest` takes from the flags. `--path` is resolved against `cwd`, and taken both
 * as given and as a backup records it (real-paths.ts): `--path /x/lk/data` (`lk` → `real`)
 * finds the backups of `/x/real/data`, as backing up `/x/lk/data` makes them.
 */
export async function latestFilter(flags: LatestFlags, cwd: string): Promise<BackupFilter> {
  const given = (flags.path ?? []).map((p) => resolve(cwd, p));
  const recorded = await recordedPaths(given);
  return {
    ...(flags.source ? { source: flags.source } : {}),
    ...(given.length ? { holding: recorded.map((r) => [...new Set([r.given, r.recorded])]) } : {}),
  };
}

/** `85733506 of /srv/models, taken 2026-12-06 19:18:11 UTC`. */
export function describeBackup(backup: BackupRecord): string {
  const time = backup.finishedAt.slice(0, 19).replace('T', ' ');
  return `${backup.shortId} of ${backup.paths.join(', ') || backup.source}, taken ${time} UTC`;
}

/**
 * A path inside a backup as given on the command line (`hbr ls ID PATH`, `restore --include
 * PATH`). Backups record absolute paths; a relative one is taken from `cwd`, as `--path` and the
 * paths given to `hbr backup` are (`data/x` in /srv is /srv/data/x), never from the root.
 * @throws UsageError for an empty path: an unset variable, not the current folder.
 */
export function pathInBackup(path: string, cwd: string, option: string): string {
  if (path === '')
    throw new UsageError(
      `${option}: an empty path ("") is refused: an unset variable? Give a path inside the backup ("/" for all of it)`,
    );
  return resolve(cwd, path);
}

/**
 * `error` (`paths` not in the backup) with the backup `ref` resolved to named, and when that was
 * `latest` of other paths than those, how to pick another: the newest backup need not be of the
 * paths asked about. A backup that holds the paths (they are below its own) just lacks them.
 */
export function withBackupNamed<E extends HbrError>(
  error: E,
  backup: BackupRecord,
  ref: string,
  paths: readonly string[],
): E {
  const held = paths.every((p) => holdsPath(backup.paths, p));
  error.message +=
    ref === 'latest' && !held
      ? ` ("latest" is backup ${describeBackup(backup)}: the newest backup of any paths); add --path PATH for the latest backup that holds PATH, or give an id from hbr backups`
      : ` (${ref === 'latest' ? '"latest" is ' : ''}backup ${describeBackup(backup)})`;
  return error;
}

/** What a files backup could not read or read torn when it was taken, if anything. */
export function incompleteOf(
  backup: BackupRecord,
): { unreadable: number; changedWhileRead: number } | undefined {
  const unreadable = backup.summary.unreadable ?? 0;
  const changedWhileRead = backup.summary.changedWhileRead ?? 0;
  return unreadable > 0 || changedWhileRead > 0 ? { unreadable, changedWhileRead } : undefined;
}

/** `backup X was incomplete: …`, for a warning at restore and in `hbr ls`. */
export function incompleteWarning(backup: BackupRecord): string | undefined {
  const what = incompleteOf(backup);
  if (!what) return undefined;
  const parts = [
    ...(what.unreadable > 0
      ? [
          `${what.unreadable} files or folders could not be read when it was taken (they are not in it)`,
        ]
      : []),
    ...(what.changedWhileRead > 0
      ? [
          `${what.changedWhileRead} files changed while they were read (their copy may be inconsistent)`,
        ]
      : []),
  ];
  return `backup ${backup.shortId} was incomplete: ${parts.join('; ')}`;
}

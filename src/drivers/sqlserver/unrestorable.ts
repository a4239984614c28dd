/**
 * Backup sets msdb records that no restore can read: written to the null device (a DBA emptying
 * the log), or taken by hbr on its own device and missing from the repository (the commit failed).
 * They are no restore steps, but they explain gaps: a backup records those it sees
 * (`meta.discarded`, `meta.lost`), so the planner names them where a chain breaks, from the
 * repository alone, and each is warned of once, by the first backup that sees it.
 * @module
 */
import { SourceError } from '../../errors.ts';
import type { BackupRecord } from '../../repository/types.ts';
import type { BackupSetRecord } from './backup-set.ts';
import { normaliseHistory } from './history.ts';
import { formatLsn } from './lsn.ts';
import { discardedSetWarning, isDiscardedSet } from './nul-device.ts';

/** The manifest fields that record them. */
export const UNRESTORABLE_FIELDS = ['discarded', 'lost'] as const;

/**
 * The GUIDs of the sets that the source's backups recorded in `field`. Manifests written before
 * the sets were recorded whole hold only their GUIDs.
 */
export function recordedGuids(
  backups: readonly BackupRecord[],
  source: string,
  field: (typeof UNRESTORABLE_FIELDS)[number],
): Set<string> {
  const guids = new Set<string>();
  for (const b of backups) {
    const items = b.source === source && b.kind === 'sqlserver' ? b.meta[field] : undefined;
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      const guid =
        typeof item === 'string'
          ? item
          : typeof item === 'object' && item !== null
            ? (item as Record<string, unknown>).BackupSetGUID
            : undefined;
      if (typeof guid === 'string') guids.add(guid.toLowerCase());
    }
  }
  return guids;
}

/**
 * The unrestorable sets a backup's manifest recorded whole.
 * @throws SourceError naming the backup when one is malformed.
 */
export function unrestorableRecords(backup: BackupRecord): BackupSetRecord[] {
  const sets: BackupSetRecord[] = [];
  for (const field of UNRESTORABLE_FIELDS) {
    const items = backup.meta[field];
    if (!Array.isArray(items)) continue;
    const whole = items.filter((item) => typeof item === 'object' && item !== null);
    try {
      const { records, discarded } = normaliseHistory(whole, `meta.${field}`);
      sets.push(...records, ...discarded);
    } catch (error) {
      throw new SourceError(
        `[sqlserver:catalog] backup ${backup.shortId}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return sets;
}

/** One unrestorable set and why no restore can read it, for error messages and warnings. */
export function describeUnrestorable(r: BackupSetRecord): string {
  const what = `the ${r.type} backup at ${r.finish.toISOString()} (LSN ${formatLsn(r.firstLsn)} → ${formatLsn(r.lastLsn)}, ${r.backupSetGuid})`;
  return isDiscardedSet(r)
    ? `${what}, written to the null device (${r.files.join(', ')}) and discarded`
    : `${what}, taken by hbr (${r.files.join(', ')}) but not in the repository (its commit failed)`;
}

/** What a user should know about an unrestorable set: {@link lostSetWarning} or `discardedSetWarning`. */
export function unrestorableWarning(r: BackupSetRecord): string {
  return isDiscardedSet(r) ? discardedSetWarning(r) : lostSetWarning(r);
}

/**
 * What a user should know about a set hbr took that the repository lacks while other backups of
 * the source run (`running`, their locks described): one of them may still be committing it.
 */
export function committingSetWarning(set: BackupSetRecord, running: readonly string[]): string {
  return `msdb shows a ${set.type} backup hbr took at ${set.finish.toISOString()} (${set.backupSetGuid}) that another backup of the source, still running (${running.join('; ')}), may be committing: it is lost only if that backup ends without it in the repository`;
}

/**
 * What a user should know about a backup hbr took that the repository lacks: BACKUP ran but its
 * commit failed, and SQL Server moved its chain on without the repository.
 */
export function lostSetWarning(lost: BackupSetRecord): string {
  const what = `msdb shows a ${lost.type} backup hbr took at ${lost.finish.toISOString()} (${lost.backupSetGuid}) that is not in the repository`;
  if (lost.type === 'log')
    return `${what}: the log chain has a gap there, which only a later full or differential backup bridges (with promote on, a log backup after it is taken as one)`;
  if (lost.type === 'full')
    return `${what}: the differentials taken after it, until the next full, are based on it and cannot be restored (with promote on, they are taken as fulls)`;
  return `${what}: restores go on through the full and log backups`;
}

/**
 * Choice of the restore base: the full (and the differential on top of it) a chain starts from.
 * @module
 */
import type { BackupSetRecord } from './backup-set.ts';
import { compareLsn } from './lsn.ts';
import type { RestoreTarget } from './plan.ts';

/**
 * Whether a data backup (full or differential) is usable for the target: it must end before the
 * target time, or contain only log records before the target LSN.
 */
export function baseFitsTarget(record: BackupSetRecord, target: RestoreTarget): boolean {
  if (target.kind === 'time') return record.finish.getTime() <= target.at.getTime();
  if (target.kind === 'lsn') return record.lastLsn <= target.lsn;
  return true;
}

/**
 * Full backups usable as a base, most preferred first: highest LastLSN (time is not trusted for
 * ordering: server-local clocks and DST), then latest finish. Copy-only fulls are included.
 */
export function candidateFulls(
  records: readonly BackupSetRecord[],
  target: RestoreTarget,
): BackupSetRecord[] {
  return records
    .filter((r) => r.type === 'full' && baseFitsTarget(r, target))
    .sort((a, b) => compareLsn(b.lastLsn, a.lastLsn) || b.finish.getTime() - a.finish.getTime());
}

/**
 * The differential to apply on `full`, or `null`: the one with the highest LastLSN among those
 * that fit the target, end after the full, and are based on it — `DifferentialBaseGUID` equal to
 * the full's `BackupSetGUID` when both are known, else `DatabaseBackupLSN` equal to its
 * `CheckpointLSN` (a copy-only full is never a differential base, and this rule never matches one).
 */
export function bestDifferential(
  records: readonly BackupSetRecord[],
  full: BackupSetRecord,
  target: RestoreTarget,
): BackupSetRecord | null {
  let best: BackupSetRecord | null = null;
  for (const r of records) {
    if (r.type !== 'diff' || !baseFitsTarget(r, target) || r.lastLsn <= full.lastLsn) continue;
    if (!isBasedOn(r, full) || !sameFork(full.recoveryForkId, r.firstRecoveryForkId)) continue;
    if (best === null || r.lastLsn > best.lastLsn) best = r;
  }
  return best;
}

/** Whether two recovery fork ids are compatible (equal, or either unknown). */
export function sameFork(a: string | null, b: string | null): boolean {
  return a === null || b === null || a === b;
}

// --- internal ---

function isBasedOn(diff: BackupSetRecord, full: BackupSetRecord): boolean {
  if (full.isCopyOnly) return false;
  if (diff.differentialBaseGuid !== null) return diff.differentialBaseGuid === full.backupSetGuid;
  return diff.databaseBackupLsn !== null && diff.databaseBackupLsn === full.checkpointLsn;
}

/**
 * Choice of the restore base: the full (and the differential on top of it) a chain starts from.
 * @module
 */
import { PlanError } from '../../errors.ts';
import { sameLineage, type BackupSetRecord } from './backup-set.ts';
import { compareLsn } from './lsn.ts';
import type { RestorePlan, RestoreTarget } from './plan.ts';

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
 * The differentials that may be applied on `full`, most preferred first (highest LastLSN): those
 * that fit the target, end after the full, and are based on it — `DifferentialBaseGUID` equal to
 * the full's `BackupSetGUID` when both are known, else `DatabaseBackupLSN` equal to its
 * `CheckpointLSN` (a copy-only full is never a differential base, and this rule never matches one).
 * All are returned, not only the latest: after a restore to a point in time, the latest may lie on
 * the abandoned recovery branch past the fork point, and only an older one (or none) leads to the
 * target; the log walk tells which.
 */
export function differentialsOn(
  records: readonly BackupSetRecord[],
  full: BackupSetRecord,
  target: RestoreTarget,
): BackupSetRecord[] {
  return records
    .filter(
      (r) =>
        r.type === 'diff' &&
        baseFitsTarget(r, target) &&
        r.lastLsn > full.lastLsn &&
        isBasedOn(r, full) &&
        sameFork(full.recoveryForkId, r.firstRecoveryForkId),
    )
    .sort((a, b) => compareLsn(b.lastLsn, a.lastLsn) || b.finish.getTime() - a.finish.getTime());
}

/**
 * The plan that ends exactly at a full or differential backup: the full alone, or the differential
 * on its own base full, whatever fulls (copy-only ones) were taken in between. Ranking fulls as
 * {@link candidateFulls} does would pick a later copy-only full that can never carry the differential.
 * @throws PlanError `BACKUP_DAMAGED` when the set is damaged; `NO_DIFFERENTIAL_BASE` when the
 * differential's base full is not in the history (or is damaged).
 */
export function planToDataBackup(
  records: readonly BackupSetRecord[],
  set: BackupSetRecord,
): RestorePlan {
  const plan = (steps: BackupSetRecord[]): RestorePlan => ({
    database: set.database,
    target: { kind: 'latest' },
    steps,
    stopAt: null,
    stopAtLsn: null,
    warnings: [],
  });
  if (set.isDamaged) {
    throw new PlanError(
      'BACKUP_DAMAGED',
      `[sqlserver:plan] ${set.database}: ${set.type} ${set.backupSetGuid} is marked damaged`,
    );
  }
  if (set.type === 'full') return plan([set]);
  const base = records.find(
    (r) =>
      r.type === 'full' &&
      !r.isDamaged &&
      r.lastLsn < set.lastLsn &&
      sameLineage(r, set) &&
      isBasedOn(set, r) &&
      sameFork(r.recoveryForkId, set.firstRecoveryForkId),
  );
  if (!base) {
    throw new PlanError(
      'NO_DIFFERENTIAL_BASE',
      `[sqlserver:plan] ${set.database}: the base full of differential ${set.backupSetGuid} ` +
        `(${set.differentialBaseGuid ?? 'unknown id'}) is not in the history or is damaged`,
    );
  }
  return plan([base, set]);
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

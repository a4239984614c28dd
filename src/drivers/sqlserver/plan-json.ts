/**
 * The JSON shapes of backup-set records and restore plans (`hbr sqlserver plan --json`): LSNs as
 * decimal strings, times as ISO 8601 UTC.
 * @module
 */
import type { BackupSetRecord } from './backup-set.ts';
import { formatLsn, type Lsn } from './lsn.ts';
import type { RestorePlan, RestoreTarget } from './plan.ts';

/** One restore step as printed. */
export interface PlanStepJson {
  readonly type: BackupSetRecord['type'];
  readonly backupSetGuid: string;
  readonly firstLsn: string;
  readonly lastLsn: string;
  readonly checkpointLsn: string | null;
  readonly databaseBackupLsn: string | null;
  readonly start: string;
  readonly finish: string;
  readonly files: readonly string[];
  readonly position: number;
  readonly server: string | null;
  readonly isCopyOnly: boolean;
}

/** A restore plan as printed. */
export interface PlanJson {
  readonly database: string;
  readonly target: { kind: 'latest' } | { kind: 'time'; at: string } | { kind: 'lsn'; lsn: string };
  readonly steps: readonly PlanStepJson[];
  readonly stopAt: string | null;
  readonly stopAtLsn: string | null;
  readonly warnings: readonly string[];
}

/** The JSON form of a plan. */
export function planToJson(plan: RestorePlan): PlanJson {
  return {
    database: plan.database,
    target: targetToJson(plan.target),
    steps: plan.steps.map(stepToJson),
    stopAt: plan.stopAt?.toISOString() ?? null,
    stopAtLsn: lsnOrNull(plan.stopAtLsn),
    warnings: plan.warnings,
  };
}

/** The JSON form of one record as a plan step. */
export function stepToJson(r: BackupSetRecord): PlanStepJson {
  return {
    type: r.type,
    backupSetGuid: r.backupSetGuid,
    firstLsn: formatLsn(r.firstLsn),
    lastLsn: formatLsn(r.lastLsn),
    checkpointLsn: lsnOrNull(r.checkpointLsn),
    databaseBackupLsn: lsnOrNull(r.databaseBackupLsn),
    start: r.start.toISOString(),
    finish: r.finish.toISOString(),
    files: r.files,
    position: r.position,
    server: r.server,
    isCopyOnly: r.isCopyOnly,
  };
}

/**
 * The JSON-safe form of a whole record (for manifests: `BackupRecord.meta`), readable again by
 * `normaliseHistory` since it uses the same field names as RESTORE HEADERONLY.
 */
export function recordToJson(
  r: BackupSetRecord,
): Record<string, string | number | boolean | string[] | null> {
  return {
    BackupSetGUID: r.backupSetGuid,
    BackupTypeDescription: {
      full: 'Database',
      diff: 'Database Differential',
      log: 'Transaction Log',
    }[r.type],
    FirstLSN: formatLsn(r.firstLsn),
    LastLSN: formatLsn(r.lastLsn),
    CheckpointLSN: lsnOrNull(r.checkpointLsn),
    DatabaseBackupLSN: lsnOrNull(r.databaseBackupLsn),
    DifferentialBaseLSN: lsnOrNull(r.differentialBaseLsn),
    DifferentialBaseGUID: r.differentialBaseGuid,
    RecoveryForkID: r.recoveryForkId,
    FirstRecoveryForkID: r.firstRecoveryForkId,
    ForkPointLSN: lsnOrNull(r.forkPointLsn),
    FamilyGUID: r.familyGuid,
    IsCopyOnly: r.isCopyOnly,
    IsDamaged: r.isDamaged,
    HasBulkLoggedData: r.hasBulkLoggedData,
    HasBackupChecksums: r.hasBackupChecksums,
    UtcOffsetMinutes: r.utcOffsetMinutes,
    BackupStartDate: r.start.toISOString(),
    BackupFinishDate: r.finish.toISOString(),
    BackupPath: [...r.files],
    Position: r.position,
    ServerName: r.server,
    DatabaseName: r.database,
    AvailabilityGroupName: r.availabilityGroup,
  };
}

// --- internal ---

function lsnOrNull(lsn: Lsn | null): string | null {
  return lsn === null ? null : formatLsn(lsn);
}

function targetToJson(t: RestoreTarget): PlanJson['target'] {
  if (t.kind === 'time') return { kind: 'time', at: t.at.toISOString() };
  if (t.kind === 'lsn') return { kind: 'lsn', lsn: formatLsn(t.lsn) };
  return { kind: 'latest' };
}

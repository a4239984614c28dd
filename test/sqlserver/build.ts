/** Builders of synthetic backup-set records for planner tests. */
import type { BackupSetRecord, BackupSetType } from '../../src/drivers/sqlserver/backup-set.ts';
import { recordToJson } from '../../src/drivers/sqlserver/plan-json.ts';
import type { BackupRecord } from '../../src/repository/types.ts';

let counter = 0;

/** A record with sensible defaults; times are minutes after 2026-01-01T00:00Z. */
export function rec(
  type: BackupSetType,
  firstLsn: bigint,
  lastLsn: bigint,
  finishMinute: number,
  over: Partial<BackupSetRecord> = {},
): BackupSetRecord {
  counter += 1;
  const guid = `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
  return {
    backupSetGuid: guid,
    type,
    firstLsn,
    lastLsn,
    checkpointLsn: type === 'log' ? null : firstLsn,
    databaseBackupLsn: null,
    differentialBaseLsn: null,
    differentialBaseGuid: null,
    recoveryForkId: null,
    firstRecoveryForkId: null,
    forkPointLsn: null,
    familyGuid: null,
    isCopyOnly: false,
    isDamaged: false,
    hasBulkLoggedData: false,
    hasBackupChecksums: true,
    utcOffsetMinutes: null,
    start: minute(finishMinute - 1),
    finish: minute(finishMinute),
    files: [`${type}-${counter}.bak`],
    position: 1,
    server: 'sql1',
    database: 'Sales',
    availabilityGroup: null,
    ...over,
  };
}

/** 2026-01-01T00:00Z plus `m` minutes. */
export function minute(m: number): Date {
  return new Date(Date.UTC(2026, 0, 1) + m * 60_000);
}

/**
 * An hbr backup of the source `source` holding `set`, as hbr commits one, with the sets msdb
 * showed beside it (`foreign`, as recorded).
 */
export function sqlBackup(
  set: BackupSetRecord,
  n: number,
  foreign?: unknown[],
  source = 'sales',
): BackupRecord {
  const id = n.toString(16).padStart(64, '0');
  return {
    id,
    shortId: id.slice(0, 8),
    source,
    kind: 'sqlserver',
    type: set.type,
    startedAt: set.start.toISOString(),
    finishedAt: set.finish.toISOString(),
    host: 'h',
    paths: ['Sales'],
    tags: [],
    tree: '',
    summary: { files: 1, bytes: 1, addedBytes: 1, durationMs: 1 },
    meta: {
      sqlserver: 1,
      set: recordToJson(set),
      artifacts: ['stripe1.bak'],
      ...(foreign ? { foreign } : {}),
    },
  };
}

/**
 * Backup histories → {@link BackupSetRecord}s. Reads the JSON that dbatools'
 * `Get-DbaBackupHistory` / `Get-DbaBackupInformation` export (LSNs as 25-digit JSON numbers, parsed
 * losslessly; dates as `/Date(ms)/` or ISO 8601), msdb rows and RESTORE HEADERONLY rows, and merges
 * the stripes of a set by `BackupSetGUID`.
 * @module
 */
import { parse } from 'lossless-json';
import { UsageError } from '../../errors.ts';
import type { BackupSetRecord, BackupSetType } from './backup-set.ts';
import * as f from './history-fields.ts';
import { isDiscardedSet } from './nul-device.ts';

/** A history row that was read but is not part of any chain hbr plans (file, partial backups). */
export interface SkippedRow {
  readonly index: number;
  readonly reason: string;
}

/** The result of reading a history. */
export interface History {
  /** One record per backup set (stripes merged), in the order first seen. */
  readonly records: BackupSetRecord[];
  readonly skipped: SkippedRow[];
  /**
   * Sets written to the null device (`TO DISK = 'NUL'`): recorded, but their bytes are gone, so
   * they are not among `records` (a log there is a gap in the chain). See `discardedSetWarning`.
   */
  readonly discarded: BackupSetRecord[];
}

/**
 * Parses a history file's text (a JSON array, or one object) without losing LSN digits.
 * @param label names the file in error messages.
 * @throws UsageError when the text is not JSON or a row is malformed (the message names the row).
 */
export function parseHistoryJson(text: string, label: string): History {
  let data: unknown;
  try {
    data = parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new UsageError(`[sqlserver:history] ${label}: not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return normaliseHistory(Array.isArray(data) ? (data as unknown[]) : [data], label);
}

/**
 * Normalises history rows (plain objects, any supported naming) into records.
 * @throws UsageError naming the row when a required field is missing or malformed, or when two
 * rows of one backup set disagree about its LSNs or type.
 */
export function normaliseHistory(rows: readonly unknown[], label: string): History {
  const bySet = new Map<string, BackupSetRecord>();
  const skipped: SkippedRow[] = [];
  rows.forEach((value, index) => {
    let record: BackupSetRecord | string;
    try {
      record = normaliseRow(f.toRow(value));
    } catch (error) {
      throw new UsageError(
        `[sqlserver:history] ${label}: item ${index}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (typeof record === 'string') {
      skipped.push({ index, reason: record });
      return;
    }
    const seen = bySet.get(record.backupSetGuid);
    bySet.set(record.backupSetGuid, seen ? mergeStripes(seen, record, label, index) : record);
  });
  const sets = [...bySet.values()];
  return {
    records: sets.filter((r) => !isDiscardedSet(r)),
    skipped,
    discarded: sets.filter(isDiscardedSet),
  };
}

// --- internal ---

/** Returns the record, or the reason the row is not one hbr plans with. */
function normaliseRow(row: f.Row): BackupSetRecord | string {
  const type = backupType(row);
  if (typeof type !== 'string' || !['full', 'diff', 'log'].includes(type)) {
    return `backup type ${String(f.pick(row, 'BackupTypeDescription', 'Type', 'BackupType'))} is not planned`;
  }
  // Neither can be read back with RESTORE … FROM DISK/URL: a snapshot set (VSS, METADATA_ONLY) holds
  // only metadata, its data lives in a storage snapshot; a virtual device (VDI) is another tool's
  // stream, and msdb records a GUID as its path. Taken as a base, either would make the plan fail.
  if (f.flagField(row, 'IsSnapshot', 'is_snapshot')) return 'a snapshot backup is not planned';
  const device = f.intField(row, 'DeviceType', 'device_type');
  if (device === 7 || device === 107) return 'a backup on a virtual device is not planned';
  const backupSetGuid = f.guidField(row, 'BackupSetGUID', 'backup_set_uuid', 'BackupSetId');
  if (backupSetGuid === null) throw new TypeError('BackupSetGUID is missing');
  const database = f.textField(row, 'DatabaseName', 'Database', 'database_name');
  if (database === null) throw new TypeError('DatabaseName is missing');
  return {
    backupSetGuid,
    type: type as BackupSetType,
    firstLsn: f.requiredLsn(row, 'FirstLSN', 'first_lsn'),
    lastLsn: f.requiredLsn(row, 'LastLSN', 'last_lsn'),
    checkpointLsn: f.lsnField(row, 'CheckpointLSN', 'checkpoint_lsn'),
    databaseBackupLsn: f.lsnField(row, 'DatabaseBackupLSN', 'database_backup_lsn'),
    differentialBaseLsn: f.lsnField(row, 'DifferentialBaseLSN', 'differential_base_lsn'),
    differentialBaseGuid: f.guidField(row, 'DifferentialBaseGUID', 'differential_base_guid'),
    recoveryForkId: f.guidField(
      row,
      'RecoveryForkID',
      'LastRecoveryForkGUID',
      'LastRecoveryForkID',
      'last_recovery_fork_guid',
    ),
    firstRecoveryForkId: f.guidField(row, 'FirstRecoveryForkID', 'first_recovery_fork_guid'),
    forkPointLsn: f.lsnField(row, 'ForkPointLSN', 'fork_point_lsn'),
    familyGuid: f.guidField(row, 'FamilyGUID', 'family_guid'),
    isCopyOnly: f.flagField(row, 'IsCopyOnly', 'is_copy_only'),
    isDamaged: f.flagField(row, 'IsDamaged', 'is_damaged'),
    hasBulkLoggedData: f.flagField(row, 'HasBulkLoggedData', 'has_bulk_logged_data'),
    hasBackupChecksums: f.optionalFlagField(row, 'HasBackupChecksums', 'has_backup_checksums'),
    utcOffsetMinutes: f.intField(row, 'UtcOffsetMinutes'),
    start: f.dateField(row, 'BackupStartDate', 'Start', 'backup_start_date'),
    finish: f.dateField(row, 'BackupFinishDate', 'End', 'backup_finish_date'),
    files: f.filesField(row, 'BackupPath', 'FullName', 'Path', 'physical_device_name'),
    position: f.intField(row, 'Position', 'position') ?? 1,
    server: f.textField(row, 'ServerName', 'SqlInstance', 'server_name'),
    database,
    availabilityGroup: f.textField(row, 'AvailabilityGroupName', 'AvailabilityGroup'),
  };
}

const TYPE_NAMES: Readonly<Record<string, BackupSetType | 'other'>> = {
  database: 'full',
  full: 'full',
  d: 'full',
  'database differential': 'diff',
  differential: 'diff',
  i: 'diff',
  'transaction log': 'log',
  log: 'log',
  l: 'log',
};
// RESTORE HEADERONLY BackupType: 1 database, 2 log, 5 differential database (4, 6, 7, 8: file/partial).
const TYPE_CODES: Readonly<Record<number, BackupSetType>> = { 1: 'full', 2: 'log', 5: 'diff' };

function backupType(row: f.Row): BackupSetType | 'other' {
  const description = f.textField(row, 'BackupTypeDescription', 'Type', 'type');
  if (description !== null && !/^\d+$/.test(description)) {
    return TYPE_NAMES[description.trim().toLowerCase()] ?? 'other';
  }
  const code = f.intField(row, 'BackupType', 'Type');
  return code === null ? 'other' : (TYPE_CODES[code] ?? 'other');
}

function mergeStripes(
  a: BackupSetRecord,
  b: BackupSetRecord,
  label: string,
  index: number,
): BackupSetRecord {
  if (a.type !== b.type || a.firstLsn !== b.firstLsn || a.lastLsn !== b.lastLsn) {
    throw new UsageError(
      `[sqlserver:history] ${label}: item ${index}: backup set ${a.backupSetGuid} appears twice with different type or LSNs`,
    );
  }
  return { ...a, files: [...new Set([...a.files, ...b.files])] };
}

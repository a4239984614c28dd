/**
 * Backup history from msdb (`backupset` ⨝ `backupmediafamily`), so backups taken outside hbr (a
 * DBA's manual full or log backup) are seen by the planner. LSNs are cast to text server-side and
 * server-local times carry the offset recorded with each backup (`backupset.time_zone`, 15-minute
 * units from UTC, 127 when unknown), which the record keeps for STOPAT.
 * @module
 */
import { SourceError } from '../../errors.ts';
import { parseIsoInstant } from './dates.ts';
import { normaliseHistory, type History } from './history.ts';
import * as f from './history-fields.ts';
import { quoteString } from './quote.ts';

/** Options of {@link msdbHistoryQuery}. */
export interface MsdbHistoryOptions {
  /** One database (else all). */
  readonly database?: string;
  /** Only backups finished in the last n days. */
  readonly days?: number;
}

/**
 * The msdb history query: one row per stripe (mirrors excluded), ordered by backup set and
 * family sequence, with the column names RESTORE HEADERONLY uses. Snapshot and virtual-device sets
 * are read too, and left out when parsed: hbr cannot restore from them.
 */
export function msdbHistoryQuery(o: MsdbHistoryOptions = {}): string {
  const where = ["bs.type IN ('D', 'I', 'L')"];
  if (o.database !== undefined) where.push(`bs.database_name = ${quoteString(o.database)}`);
  if (o.days !== undefined)
    where.push(`bs.backup_finish_date >= DATEADD(day, -${Math.trunc(o.days)}, GETDATE())`);
  const lsn = (column: string, alias: string): string =>
    `CONVERT(varchar(40), bs.${column}) AS [${alias}]`;
  return [
    'SELECT bs.backup_set_uuid AS [BackupSetGUID], bs.type AS [Type],',
    `  ${lsn('first_lsn', 'FirstLSN')}, ${lsn('last_lsn', 'LastLSN')}, ${lsn('checkpoint_lsn', 'CheckpointLSN')},`,
    `  ${lsn('database_backup_lsn', 'DatabaseBackupLSN')}, ${lsn('differential_base_lsn', 'DifferentialBaseLSN')},`,
    '  bs.differential_base_guid AS [DifferentialBaseGUID], bs.first_recovery_fork_guid AS [FirstRecoveryForkID],',
    `  bs.last_recovery_fork_guid AS [RecoveryForkID], ${lsn('fork_point_lsn', 'ForkPointLSN')},`,
    '  bs.family_guid AS [FamilyGUID],',
    '  bs.is_copy_only AS [IsCopyOnly], bs.is_damaged AS [IsDamaged], bs.has_bulk_logged_data AS [HasBulkLoggedData],',
    '  bs.has_backup_checksums AS [HasBackupChecksums], bs.is_snapshot AS [IsSnapshot], bmf.device_type AS [DeviceType],',
    '  CONVERT(varchar(23), bs.backup_start_date, 126) AS [BackupStartDate],',
    '  CONVERT(varchar(23), bs.backup_finish_date, 126) AS [BackupFinishDate],',
    '  CASE WHEN bs.time_zone BETWEEN -48 AND 48 THEN bs.time_zone * 15',
    '       ELSE DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) END AS [ServerUtcOffsetMinutes],',
    // The offset recorded with the set alone (127 is unknown): STOPAT inside a log needs the offset then.
    '  CASE WHEN bs.time_zone BETWEEN -48 AND 48 THEN bs.time_zone * 15 END AS [UtcOffsetMinutes],',
    '  bs.position AS [Position], bs.server_name AS [ServerName], bs.database_name AS [DatabaseName],',
    '  bmf.physical_device_name AS [BackupPath], bmf.family_sequence_number AS [FamilySequence]',
    'FROM msdb.dbo.backupset AS bs',
    'JOIN msdb.dbo.backupmediafamily AS bmf ON bmf.media_set_id = bs.media_set_id AND bmf.mirror = 0',
    `WHERE ${where.join(' AND ')}`,
    'ORDER BY bs.backup_set_id, bmf.family_sequence_number;',
  ].join('\n');
}

/**
 * Normalises the rows of {@link msdbHistoryQuery} (stripes merged by BackupSetGUID).
 * @throws SourceError when a row is malformed.
 */
export function parseMsdbRows(rows: readonly Record<string, unknown>[], server: string): History {
  try {
    const converted = rows.map((raw) => {
      const row = f.toRow(raw);
      const offset = f.intField(row, 'ServerUtcOffsetMinutes') ?? 0;
      const instant = (name: string): Date | null => {
        const text = f.textField(row, name);
        return text === null ? null : new Date(parseIsoInstant(text).getTime() - offset * 60_000);
      };
      return {
        ...raw,
        BackupStartDate: instant('BackupStartDate'),
        BackupFinishDate: instant('BackupFinishDate'),
      };
    });
    return normaliseHistory(converted, `msdb on ${server}`);
  } catch (error) {
    throw new SourceError(`[sqlserver:${server}] msdb history: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

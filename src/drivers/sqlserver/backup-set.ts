/**
 * The normalised record of one SQL Server backup set, whatever it was read from (msdb history, a
 * dbatools export, RESTORE HEADERONLY, hbr's own manifests).
 * @module
 */
import type { Lsn } from './lsn.ts';

/** The backup types the chain planner understands. */
export type BackupSetType = 'full' | 'diff' | 'log';

/**
 * One backup set. Stripes (several files written by one BACKUP) are one record with several
 * `files`. GUIDs are lower-case.
 */
export interface BackupSetRecord {
  /** `BackupSetGUID` / `backupset.backup_set_uuid`; shared by every stripe of the set. */
  readonly backupSetGuid: string;
  readonly type: BackupSetType;
  readonly firstLsn: Lsn;
  /** The LSN of the next log record after the set: the set holds records `< lastLsn`. */
  readonly lastLsn: Lsn;
  readonly checkpointLsn: Lsn | null;
  /** The checkpoint LSN of the latest conventional full before this set (0 if none). */
  readonly databaseBackupLsn: Lsn | null;
  readonly differentialBaseLsn: Lsn | null;
  /** For a differential: the `BackupSetGUID` of its base full. */
  readonly differentialBaseGuid: string | null;
  /** The recovery fork at the end of the set (`RecoveryForkID` / `last_recovery_fork_guid`). */
  readonly recoveryForkId: string | null;
  /** The recovery fork at the start of the set. */
  readonly firstRecoveryForkId: string | null;
  /**
   * For a set that crosses from `firstRecoveryForkId` to `recoveryForkId` (the first log backup
   * after a restore to a point in time): the LSN where the new fork branched off
   * (`ForkPointLSN` / `fork_point_lsn`); `null` otherwise, or when the history did not say.
   */
  readonly forkPointLsn: Lsn | null;
  /** The database lineage, stable across restores. */
  readonly familyGuid: string | null;
  readonly isCopyOnly: boolean;
  readonly isDamaged: boolean;
  readonly hasBulkLoggedData: boolean;
  /**
   * Whether BACKUP wrote checksums (`HasBackupChecksums` / `has_backup_checksums`); `null` when the
   * history did not say. RESTORE … WITH CHECKSUM fails on a set without them (SQL Server's BACKUP
   * default is NO_CHECKSUM), so only a set known to have them is restored WITH CHECKSUM.
   */
  readonly hasBackupChecksums: boolean | null;
  /**
   * The server's offset from UTC in minutes (east) when the set was taken, as recorded with it
   * (msdb `backupset.time_zone`; the offset hbr read with its own backup); `null` when not recorded.
   */
  readonly utcOffsetMinutes: number | null;
  /** Instants (the source's server-local times converted with its offset). */
  readonly start: Date;
  readonly finish: Date;
  /** Every stripe, in the order they were listed. */
  readonly files: readonly string[];
  /** `FILE = n` of the set within its media (1 when unknown). */
  readonly position: number;
  readonly server: string | null;
  readonly database: string;
  readonly availabilityGroup: string | null;
}

/**
 * Whether two sets (or a set and a database) may be of one lineage: the same FamilyGUID, or one not
 * known (older history). A database dropped and made again under its name starts a new lineage,
 * whose LSNs say nothing of the old one's.
 */
export function sameLineage(
  a: Pick<BackupSetRecord, 'familyGuid'>,
  b: Pick<BackupSetRecord, 'familyGuid'>,
): boolean {
  return a.familyGuid === null || b.familyGuid === null || a.familyGuid === b.familyGuid;
}

/** Whether a log backup holds no log records (`FirstLSN = LastLSN`): it adds nothing to a chain. */
export function isEmptyLog(record: BackupSetRecord): boolean {
  return record.type === 'log' && record.firstLsn === record.lastLsn;
}

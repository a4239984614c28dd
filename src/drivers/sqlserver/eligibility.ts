/**
 * Whether a database can have the backup type asked for, before running BACKUP (Ola Hallengren's
 * checks, research §2.2): a log backup needs FULL/BULK_LOGGED recovery and an existing log chain;
 * a differential needs a differential base. Optionally promote LOG → DIFF → FULL instead of failing.
 * Plus the advice hbr gives about options that defeat repository deduplication.
 * @module
 */
import { SourceError } from '../../errors.ts';
import type { BackupSetType } from './backup-set.ts';
import type { ChainFacts, LogGap } from './chain-facts.ts';
import * as f from './history-fields.ts';
import type { Lsn } from './lsn.ts';
import { quoteString } from './quote.ts';
import type { AvailabilityReplica, ReplicaRole } from './replica-role.ts';
import type { BackupOptions } from './tsql-backup.ts';

/** The database state the decision needs. */
export interface DatabaseState {
  readonly name: string;
  readonly stateDesc: string;
  readonly recoveryModel: string;
  readonly isInStandby: boolean;
  /** `sys.database_recovery_status.last_log_backup_lsn`: null means no log chain yet. */
  readonly hasLogChain: boolean;
  /** `last_log_backup_lsn`: where the next log backup (a tail-log backup) starts. */
  readonly lastLogBackupLsn: Lsn | null;
  /** `sys.database_recovery_status.family_guid` and `recovery_fork_guid` (lower-case). */
  readonly familyGuid: string | null;
  readonly recoveryForkGuid: string | null;
  /**
   * `first_recovery_fork_guid` and `fork_point_lsn`: the fork the next log backup starts on, and,
   * when that is not `recoveryForkGuid` (a restore to a point in time since the last log backup),
   * the LSN where the current fork branched off it.
   */
  readonly firstRecoveryForkGuid: string | null;
  readonly forkPointLsn: Lsn | null;
  /** `sys.master_files.differential_base_lsn` of file 1: null means no differential base. */
  readonly hasDifferentialBase: boolean;
  /**
   * The full a differential now is based on: `differential_base_lsn` (the full's CheckpointLSN) and
   * `differential_base_guid` (its BackupSetGUID, lower-case), when known.
   */
  readonly differentialBaseLsn: Lsn | null;
  readonly differentialBaseGuid: string | null;
  /** Transparent data encryption is on. */
  readonly isEncrypted: boolean;
  /**
   * This instance's replica of the database when it is in an availability group
   * (`sys.databases.replica_id`), with its role (`replica-role.ts`); `null` outside a group. A
   * secondary replica takes only logs and copy-only fulls, so a log is promoted past a gap on the
   * primary only. {@link parseDatabaseState} cannot tell the role: `readDatabaseState` reads it.
   */
  readonly availabilityReplica: AvailabilityReplica | null;
}

/**
 * The query for {@link parseDatabaseState}. It reads only catalog views every login sees for its
 * databases, on every supported version: it runs before every backup and every tail-log backup.
 */
export function databaseStateQuery(database: string): string {
  return [
    'SELECT d.name, d.state_desc, d.recovery_model_desc, d.is_in_standby, d.is_encrypted, d.replica_id,',
    '  CONVERT(varchar(40), drs.last_log_backup_lsn) AS last_log_backup_lsn,',
    '  drs.family_guid, drs.recovery_fork_guid, drs.first_recovery_fork_guid,',
    '  CONVERT(varchar(40), drs.fork_point_lsn) AS fork_point_lsn,',
    '  CONVERT(varchar(40), mf.differential_base_lsn) AS differential_base_lsn, mf.differential_base_guid',
    'FROM sys.databases AS d',
    'JOIN sys.database_recovery_status AS drs ON drs.database_id = d.database_id',
    'LEFT JOIN sys.master_files AS mf ON mf.database_id = d.database_id AND mf.file_id = 1',
    `WHERE d.name = ${quoteString(database)};`,
  ].join('\n');
}

/** Reads the row of {@link databaseStateQuery}. @throws SourceError when the database is missing */
export function parseDatabaseState(
  database: string,
  rows: readonly Record<string, unknown>[],
): DatabaseState {
  const raw = rows[0];
  if (!raw)
    throw new SourceError(`[sqlserver:backup] database ${JSON.stringify(database)} does not exist`);
  const row = f.toRow(raw);
  const replicaId = f.guidField(row, 'replica_id');
  return {
    name: f.textField(row, 'name') ?? database,
    stateDesc: f.textField(row, 'state_desc') ?? 'UNKNOWN',
    recoveryModel: f.textField(row, 'recovery_model_desc') ?? 'UNKNOWN',
    isInStandby: f.flagField(row, 'is_in_standby'),
    hasLogChain: f.textField(row, 'last_log_backup_lsn') !== null,
    lastLogBackupLsn: f.lsnField(row, 'last_log_backup_lsn'),
    familyGuid: f.guidField(row, 'family_guid'),
    recoveryForkGuid: f.guidField(row, 'recovery_fork_guid'),
    firstRecoveryForkGuid: f.guidField(row, 'first_recovery_fork_guid'),
    forkPointLsn: f.lsnField(row, 'fork_point_lsn'),
    hasDifferentialBase: f.textField(row, 'differential_base_lsn') !== null,
    differentialBaseLsn: f.lsnField(row, 'differential_base_lsn'),
    differentialBaseGuid: f.guidField(row, 'differential_base_guid'),
    isEncrypted: f.flagField(row, 'is_encrypted'),
    availabilityReplica: replicaId === null ? null : { id: replicaId, ...ROLE_NOT_READ },
  };
}

/** The role of a replica in the state as parsed, before `readDatabaseState` asks for it. */
const ROLE_NOT_READ: ReplicaRole = { role: 'unknown', why: 'not read' };

/** The outcome of {@link decideBackupType}. */
export interface BackupTypeDecision {
  readonly type: BackupSetType;
  /** Why `type` is not the type asked for; `null` when it is. */
  readonly reason: string | null;
  /** Without promotion: why the backup taken as asked cannot be restored. */
  readonly warning?: string;
}

/**
 * The backup type to run for `requested`. With `promote`, an impossible LOG becomes DIFF (or
 * FULL) and an impossible DIFF becomes FULL, and `reason` says why. Given the `chain` facts (from
 * the backup history, see `chain-facts.ts`), a LOG that no restore could use past a gap in the
 * log chain is promoted the same way, and a DIFF whose base full no restore can read becomes a
 * FULL; a promotion to DIFF becomes FULL when the differential's base is such a full. Without
 * `promote`, those are taken as asked, with a `warning`; so is a LOG in an availability group,
 * unless on the primary replica past a gap that names the sets that left it (see
 * `notPromotedInGroup`).
 * @throws SourceError when the database cannot be backed up as asked (the message says what to do).
 */
export function decideBackupType(
  requested: BackupSetType,
  s: DatabaseState,
  promote = false,
  chain?: ChainFacts,
): BackupTypeDecision {
  const fail = (why: string): never => {
    throw new SourceError(`[sqlserver:backup] ${s.name}: ${why}`);
  };
  if (s.stateDesc !== 'ONLINE' || s.isInStandby)
    fail(`the database is ${s.isInStandby ? 'in STANDBY' : s.stateDesc}, not ONLINE`);
  if (requested !== 'full' && s.name.toLowerCase() === 'master')
    fail('master takes full backups only');
  const baseGap = chain?.differentialBaseGap ?? null;
  // The differential a LOG is promoted to, unless it would be based on a full no restore can read.
  const instead = (): { type: BackupSetType; name: string; why: string } =>
    s.hasDifferentialBase && baseGap === null
      ? { type: 'diff', name: 'differential', why: '' }
      : {
          type: 'full',
          name: 'full',
          why: baseGap === null ? '' : ` (not a differential: ${baseGap})`,
        };
  if (requested === 'log') {
    if (s.recoveryModel === 'SIMPLE')
      fail('the SIMPLE recovery model has no log backups; switch to FULL and take a full backup');
    if (!s.hasLogChain) {
      if (!promote)
        fail(
          'no log chain yet (no full backup since the database was created or switched to FULL recovery): take a full backup first',
        );
      const { type, name, why } = instead();
      return {
        type,
        reason: `no log chain yet, so a ${name} backup was taken instead of a log backup${why}`,
      };
    }
    const gap = chain?.logGap ?? null;
    if (gap !== null) {
      const notHere = promote ? notPromotedInGroup(s.availabilityReplica, gap) : null;
      if (!promote || notHere !== null)
        return {
          type: 'log',
          reason: null,
          warning: `${gap.why}: this log backup cannot be restored past it until a full or differential backup is taken${notHere ?? ''}`,
        };
      const { type, name, why } = instead();
      return {
        type,
        reason: `${gap.why}: a log backup now could not be restored past it, so a ${name} backup was taken instead of a log backup${why}; the next log backups continue the chain from it`,
      };
    }
  }
  if (requested === 'diff' && !s.hasDifferentialBase) {
    if (!promote) fail('no differential base (no full backup yet): take a full backup first');
    return { type: 'full', reason: 'no differential base, so a full backup was taken instead' };
  }
  if (requested === 'diff' && baseGap !== null) {
    if (!promote)
      return {
        type: 'diff',
        reason: null,
        warning: `${baseGap}: this differential backup cannot be restored; take a full backup`,
      };
    return {
      type: 'full',
      reason: `${baseGap}: a differential now could not be restored, so a full backup was taken instead`,
    };
  }
  return { type: requested, reason: null };
}

/** Warnings about options that work against the repository (deduplication) or the server. */
export function backupAdvice(o: BackupOptions, s: DatabaseState): string[] {
  const advice: string[] = [];
  if (o.compression)
    advice.push(
      'native COMPRESSION makes every backup stream unique: the repository cannot deduplicate successive backups (hbr compresses itself)',
    );
  if (o.encryption)
    advice.push(
      'native ENCRYPTION makes every backup stream unique: the repository cannot deduplicate successive backups (hbr encrypts itself); keep the certificate and its private key backed up separately',
    );
  if (s.isEncrypted)
    advice.push(
      'the database uses TDE: its pages are encrypted, so backups deduplicate poorly; keep the TDE certificate and private key backed up separately',
    );
  if (o.compression && s.isEncrypted && (o.maxTransferSize ?? 0) <= 65536) {
    advice.push(
      'COMPRESSION of a TDE database needs MAXTRANSFERSIZE above 65536 before SQL Server 2019 CU5',
    );
  }
  return advice;
}

// --- internal ---

/**
 * Why a log past `gap` is not promoted in an availability group, as the end of the warning; `null`
 * when it is (outside a group; on the primary past a gap that names its sets). A differential or full fails on a secondary replica, and would again every run:
 * there, and where the role is not known, the gap is for the primary to bridge. On the primary, a
 * gap of log backups hbr has not seen is likely another replica's, which this instance's msdb does
 * not record; promoting past it would take a differential every run the secondaries take logs.
 */
function notPromotedInGroup(replica: AvailabilityReplica | null, gap: LogGap): string | null {
  if (replica === null) return null;
  const onSecondary =
    ', where SQL Server takes no differential and no full backup but a copy-only one';
  if (replica.role === 'secondary')
    return ` on the primary replica (not promoted: this is a secondary replica of an availability group${onSecondary})`;
  if (replica.role === 'unknown')
    return ` on the primary replica (not promoted: the role of this replica of an availability group is unknown (${replica.why}), and it may be a secondary${onSecondary})`;
  if (gap.named) return null;
  return (
    ", unless the backups hbr has not seen were taken on another replica of the availability group (not promoted: each replica's " +
    "msdb records only the backups taken on it, so other replicas' log backups are not in the msdb hbr reads here)"
  );
}

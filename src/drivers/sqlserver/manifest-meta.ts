/**
 * What a SQL Server backup records in its manifest (`BackupRecord.meta`), and the way back to a
 * {@link BackupSetRecord} so the planner can plan from hbr's own catalog, independent of msdb.
 * JSON-safe: LSNs are decimal strings, times ISO 8601 UTC.
 * @module
 */
import { SourceError } from '../../errors.ts';
import type { BackupSetRecord } from './backup-set.ts';
import type { BackupFileEntry, BackupHeader } from './headers.ts';
import { normaliseHistory } from './history.ts';
import { formatLsn } from './lsn.ts';
import { recordToJson } from './plan-json.ts';

/** The `meta` of a SQL Server backup in the repository. */
export interface SqlServerBackupMeta {
  /** Format version of this object. */
  readonly sqlserver: 1;
  /** The backup set in RESTORE HEADERONLY naming (see `recordToJson`). */
  readonly set: Record<string, unknown>;
  /** Repository artifact paths of the stripes, in stripe order. */
  readonly artifacts: readonly string[];
  readonly hasBackupChecksums: boolean;
  readonly compressed: boolean;
  readonly encrypted: {
    readonly keyAlgorithm: string;
    readonly encryptorType: string | null;
  } | null;
  readonly forkPointLsn: string | null;
  readonly recoveryModel: string | null;
  readonly databaseVersion: number | null;
  readonly serverUtcOffsetMinutes: number;
  readonly files: readonly BackupFileEntry[];
  /** Result of RESTORE VERIFYONLY WITH CHECKSUM after the backup, `null` when not run. */
  readonly verified: boolean | null;
}

/** Builds the manifest meta of a backup from its header and file list. */
export function metaFromHeader(
  header: BackupHeader,
  files: readonly BackupFileEntry[],
  artifacts: readonly string[],
  verified: boolean | null,
): SqlServerBackupMeta {
  return {
    sqlserver: 1,
    set: recordToJson(header.record),
    artifacts,
    hasBackupChecksums: header.hasBackupChecksums,
    compressed: header.compressed,
    encrypted: header.keyAlgorithm
      ? { keyAlgorithm: header.keyAlgorithm, encryptorType: header.encryptorType }
      : null,
    forkPointLsn: header.forkPointLsn === null ? null : formatLsn(header.forkPointLsn),
    recoveryModel: header.recoveryModel,
    databaseVersion: header.databaseVersion,
    serverUtcOffsetMinutes: header.serverUtcOffsetMinutes,
    files,
    verified,
  };
}

/**
 * Reads the backup set back from a manifest's meta, with the repository artifacts as its files
 * (a restore streams them out of the repository, not from the original paths).
 * @throws SourceError naming the backup when the meta is not a SQL Server backup's.
 */
export function recordFromMeta(
  backupId: string,
  meta: Readonly<Record<string, unknown>>,
): BackupSetRecord {
  const set = meta.set;
  const artifacts = meta.artifacts;
  if (
    meta.sqlserver !== 1 ||
    typeof set !== 'object' ||
    set === null ||
    !Array.isArray(artifacts)
  ) {
    throw new SourceError(`[sqlserver] backup ${backupId}: not a SQL Server backup manifest`);
  }
  try {
    // Manifests written before the set kept its offset hold it beside the set.
    const offset = (set as Record<string, unknown>).UtcOffsetMinutes ?? meta.serverUtcOffsetMinutes;
    // Likewise whether the set has checksums, read from its header when it was taken.
    const checksums =
      (set as Record<string, unknown>).HasBackupChecksums ?? meta.hasBackupChecksums;
    // And its fork point, kept beside the set before the set recorded it.
    const forkPoint = (set as Record<string, unknown>).ForkPointLSN ?? meta.forkPointLsn;
    const { records } = normaliseHistory(
      [
        {
          ...set,
          BackupPath: artifacts,
          UtcOffsetMinutes: offset,
          HasBackupChecksums: checksums,
          ForkPointLSN: forkPoint,
        },
      ],
      `backup ${backupId}`,
    );
    const record = records[0];
    if (!record) throw new Error('backup type is not full, diff or log');
    return record;
  } catch (error) {
    throw new SourceError(`[sqlserver] backup ${backupId}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Typed records from the rows of `headerOnlyQuery` / `fileListOnlyQuery` (RESTORE HEADERONLY and
 * FILELISTONLY with LSNs cast to text server-side).
 * @module
 */
import { SourceError } from '../../errors.ts';
import type { BackupSetRecord } from './backup-set.ts';
import { parseIsoInstant } from './dates.ts';
import { normaliseHistory } from './history.ts';
import * as f from './history-fields.ts';
import type { Lsn } from './lsn.ts';

/** One backup set on a media, with the facts a manifest records beyond the chain fields. */
export interface BackupHeader {
  readonly record: BackupSetRecord;
  readonly hasBackupChecksums: boolean;
  readonly compressed: boolean;
  readonly isSnapshot: boolean;
  readonly beginsLogChain: boolean;
  readonly forkPointLsn: Lsn | null;
  readonly recoveryModel: string | null;
  readonly databaseVersion: number | null;
  readonly backupSize: string | null;
  readonly compressedBackupSize: string | null;
  /** Encryption facts (null when the set is not encrypted). */
  readonly keyAlgorithm: string | null;
  readonly encryptorType: string | null;
  /** The server's UTC offset (minutes east) used to turn its local times into instants. */
  readonly serverUtcOffsetMinutes: number;
}

/** One database file in a backup set. */
export interface BackupFileEntry {
  readonly logicalName: string;
  readonly physicalName: string;
  /** D data, L log, F full-text catalog, S FILESTREAM / FileTable / In-Memory OLTP container. */
  readonly type: 'D' | 'L' | 'F' | 'S';
  readonly fileGroupName: string | null;
  readonly fileId: number;
  readonly sizeBytes: string | null;
  readonly isPresent: boolean;
}

/**
 * Parses HEADERONLY rows of one media (whose stripes are `files`).
 * @throws SourceError when a row is malformed or comes from a newer SQL Server
 * (`BackupName = '*** INCOMPLETE ***'`).
 */
export function parseHeaderRows(
  rows: readonly Record<string, unknown>[],
  files: readonly string[],
): BackupHeader[] {
  return rows.map((raw, i) => {
    const row = f.toRow(raw);
    if (f.textField(row, 'BackupName') === '*** INCOMPLETE ***') {
      throw new SourceError(
        `[sqlserver:headers] ${files.join(', ')}: set ${i + 1} was written by a newer SQL Server`,
      );
    }
    const offset = f.intField(row, 'ServerUtcOffsetMinutes') ?? 0;
    const local = (name: string): Date => {
      const text = f.textField(row, name);
      if (text === null)
        throw new SourceError(`[sqlserver:headers] ${files.join(', ')}: ${name} is missing`);
      return new Date(parseIsoInstant(text).getTime() - offset * 60_000);
    };
    const input = {
      ...raw,
      BackupStartDate: local('BackupStartDate'),
      BackupFinishDate: local('BackupFinishDate'),
      BackupPath: [...files],
      // Read just after the backup: the offset in force when it was taken.
      UtcOffsetMinutes: f.intField(row, 'ServerUtcOffsetMinutes'),
    };
    let history: ReturnType<typeof normaliseHistory>;
    try {
      history = normaliseHistory([input], files.join(', '));
    } catch (error) {
      throw new SourceError(`[sqlserver:headers] ${(error as Error).message}`, { cause: error });
    }
    const record = history.records[0];
    if (!record)
      throw new SourceError(
        `[sqlserver:headers] ${files.join(', ')}: set ${i + 1}: ${history.skipped[0]?.reason}`,
      );
    return {
      record,
      hasBackupChecksums: f.flagField(row, 'HasBackupChecksums'),
      compressed: f.flagField(row, 'Compressed'),
      isSnapshot: f.flagField(row, 'IsSnapshot'),
      beginsLogChain: f.flagField(row, 'BeginsLogChain'),
      forkPointLsn: f.lsnField(row, 'ForkPointLSN'),
      recoveryModel: f.textField(row, 'RecoveryModel'),
      databaseVersion: f.intField(row, 'DatabaseVersion'),
      backupSize: f.textField(row, 'BackupSize'),
      compressedBackupSize: f.textField(row, 'CompressedBackupSize'),
      keyAlgorithm: f.textField(row, 'KeyAlgorithm'),
      encryptorType: f.textField(row, 'EncryptorType'),
      serverUtcOffsetMinutes: offset,
    };
  });
}

/**
 * Parses FILELISTONLY rows.
 * @throws SourceError when a row lacks a name or has an unknown type.
 */
export function parseFileListRows(rows: readonly Record<string, unknown>[]): BackupFileEntry[] {
  return rows.map((raw) => {
    const row = f.toRow(raw);
    const logicalName = f.textField(row, 'LogicalName');
    const physicalName = f.textField(row, 'PhysicalName');
    const type = f.textField(row, 'Type')?.trim().toUpperCase();
    if (
      logicalName === null ||
      physicalName === null ||
      !['D', 'L', 'F', 'S'].includes(type ?? '')
    ) {
      throw new SourceError(
        `[sqlserver:headers] malformed FILELISTONLY row: ${JSON.stringify(raw)}`,
      );
    }
    return {
      logicalName,
      physicalName,
      type: type as BackupFileEntry['type'],
      fileGroupName: f.textField(row, 'FileGroupName'),
      fileId: f.intField(row, 'FileID') ?? 0,
      sizeBytes: f.textField(row, 'Size'),
      // IsPresent is absent only in hand-made rows; treat those files as present.
      isPresent: f.pick(row, 'IsPresent') === undefined ? true : f.flagField(row, 'IsPresent'),
    };
  });
}

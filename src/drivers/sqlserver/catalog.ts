/**
 * The planner's input for one SQL Server source, rebuilt from the repository alone: every backup
 * hbr committed for the source (its manifest `meta`, see `manifest-meta.ts`) plus the backups taken
 * outside hbr that msdb showed at the time of each hbr backup (`meta.foreign`, see
 * `backup-source.ts`). Foreign sets are planned like any other so a DBA's manual full or log is
 * never silently skipped; their bytes are not in the repository and are read from the path msdb
 * recorded.
 * @module
 */
import { SourceError } from '../../errors.ts';
import type { BackupRecord } from '../../repository/types.ts';
import type { BackupSetRecord } from './backup-set.ts';
import { normaliseHistory } from './history.ts';
import * as f from './history-fields.ts';
import { recordFromMeta } from './manifest-meta.ts';
import { unrestorableRecords } from './unrestorable.ts';

/** One backup set the planner may use. */
export interface CatalogEntry {
  readonly record: BackupSetRecord;
  /** The hbr backup holding its bytes, or `null` for a set taken outside hbr. */
  readonly backupId: string | null;
}

/** The catalog of one source. */
export interface SqlServerCatalog {
  readonly entries: readonly CatalogEntry[];
  readonly records: readonly BackupSetRecord[];
  /**
   * Sets msdb showed that no restore can read (written to the null device; hbr's own whose commit
   * failed), as the manifests recorded them and as read just now: never steps, they name gaps.
   */
  readonly unrestorable: readonly BackupSetRecord[];
  /** The entry of a backup set. @throws SourceError when the plan names an unknown set */
  entryOf(record: BackupSetRecord): CatalogEntry;
}

/**
 * Builds the catalog of `source` from the repository's backup list (and, optionally, msdb's
 * history read just now). Foreign and unrestorable sets are merged by
 * BackupSetGUID (the newest report wins) and dropped when hbr holds the same set.
 * @throws SourceError naming the backup when a SQL Server manifest cannot be read.
 */
export function buildCatalog(
  backups: readonly BackupRecord[],
  source: string,
  /** Sets taken outside hbr read just now (msdb), newer than any manifest's report. */
  live: readonly BackupSetRecord[] = [],
  /** Sets no restore can read, read just now (msdb). */
  liveUnrestorable: readonly BackupSetRecord[] = [],
): SqlServerCatalog {
  const own = backups.filter((b) => b.source === source && b.kind === 'sqlserver');
  const entries = new Map<string, CatalogEntry>();
  for (const b of own) {
    const record = recordFromMeta(b.id, b.meta);
    entries.set(record.backupSetGuid, { record, backupId: b.id });
  }
  const foreign = new Map<string, BackupSetRecord>();
  for (const b of own) {
    for (const record of foreignRecords(b)) {
      if (!entries.has(record.backupSetGuid)) foreign.set(record.backupSetGuid, record);
    }
  }
  for (const record of live) {
    if (!entries.has(record.backupSetGuid)) foreign.set(record.backupSetGuid, record);
  }
  for (const record of foreign.values())
    entries.set(record.backupSetGuid, { record, backupId: null });
  const unrestorable = new Map<string, BackupSetRecord>();
  for (const record of [...own.flatMap(unrestorableRecords), ...liveUnrestorable]) {
    if (!entries.has(record.backupSetGuid)) unrestorable.set(record.backupSetGuid, record);
  }
  const list = [...entries.values()].sort((a, b) =>
    a.record.lastLsn < b.record.lastLsn ? -1 : a.record.lastLsn > b.record.lastLsn ? 1 : 0,
  );
  return {
    entries: list,
    records: list.map((e) => e.record),
    unrestorable: [...unrestorable.values()],
    entryOf(record) {
      const entry = entries.get(record.backupSetGuid);
      if (!entry)
        throw new SourceError(
          `[sqlserver:catalog] ${source}: no backup set ${record.backupSetGuid}`,
        );
      return entry;
    },
  };
}

/**
 * The sets a backup's meta reports as taken outside hbr. Manifests written before msdb's
 * is_snapshot and device_type were read recorded VM snapshots too, which RESTORE cannot read:
 * of the sets such a manifest recorded without `IsSnapshot`, a full or differential that looks
 * like one (copy-only, or a GUID for a path, as VSS writers record them) is left out. Any other
 * is kept: a DBA's ordinary full there may be the base of hbr's differentials, and msdb may no
 * longer list it. Logs always stay (a snapshot backup is never a log backup).
 * @throws SourceError
 */
export function foreignRecords(backup: BackupRecord): BackupSetRecord[] {
  const rows = backup.meta.foreign;
  if (rows === undefined) return [];
  if (!Array.isArray(rows))
    throw new SourceError(
      `[sqlserver:catalog] backup ${backup.shortId}: meta.foreign is not a list`,
    );
  const label = `backup ${backup.shortId} meta.foreign`;
  try {
    const checked = rows.filter(snapshotKnown);
    const unknown = rows.filter((row) => !snapshotKnown(row));
    return [
      ...normaliseHistory(checked, label).records,
      ...normaliseHistory(unknown, label).records.filter(
        (r) => r.type === 'log' || !mayBeSnapshot(r),
      ),
    ];
  } catch (error) {
    throw new SourceError(
      `[sqlserver:catalog] backup ${backup.shortId}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

// --- internal ---

/**
 * A device name as VSS writers record it in msdb: a GUID, with or without braces, and with the
 * device's number after it (`{…}1`).
 */
const GUID_DEVICE = /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?\d*$/i;

/** Whether a set recorded without `IsSnapshot` may be a VM snapshot (see `foreignRecords`). */
function mayBeSnapshot(record: BackupSetRecord): boolean {
  return record.isCopyOnly || record.files.some((file) => GUID_DEVICE.test(file.trim()));
}

/** Whether a recorded row says if its set is a snapshot (rows that are not objects fail later). */
function snapshotKnown(row: unknown): boolean {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return true;
  return f.pick(f.toRow(row), 'IsSnapshot', 'is_snapshot') !== undefined;
}

/**
 * Where a SQL Server restore puts things: MOVE targets for the restored files (computed from the
 * file lists of the plan's backups), the device paths of staged copies, and the tail-log backup a
 * dry run plans with.
 * @module
 */
import type { BackupSetRecord } from './backup-set.ts';
import type { SqlServerSourceSettings } from './backup-source.ts';
import type { SqlServerCatalog } from './catalog.ts';
import { sameDatabaseName } from './chain.ts';
import { deviceOf, type BackupDevice } from './device.ts';
import { UsageError } from '../../errors.ts';
import type { BackupFileEntry } from './headers.ts';
import { computeMoves, type FileMove } from './move.ts';
import type { ServerInfo } from './operations.ts';
import type { DatabaseState } from './eligibility.ts';
import type { RestorePlan, RestoreTarget } from './plan.ts';

/**
 * The MOVE clauses of each step, aligned with `plan.steps`. Under another name, every logical file
 * of any backup of the plan is mapped once (the first list that names it gives its type and
 * original path), so a file added after the full (ALTER DATABASE … ADD FILE, then in a later
 * differential's or log's list) gets a target of its own instead of colliding with the original
 * database's file. Each statement names only files of its own backup, since RESTORE refuses a
 * logical name the backup set lacks: a full or differential every file of its list; a log the
 * files its list is the first to name, because RESTORE LOG can MOVE only files added during the
 * interval its log covers (RESTORE arguments, MOVE). In place, only the explicit `moves`.
 *
 * `fileLists[i]` is the file list of step i (FILELISTONLY, as the manifest recorded it), or
 * `null` when unknown: a differential then gets the files known before it, a log none.
 * @throws UsageError when the full's list is unknown and no file has an explicit target, or
 * `moves` names a file that no backup of the plan has.
 */
export function movesFor(
  plan: RestorePlan,
  fileLists: readonly (readonly BackupFileEntry[] | null)[],
  info: ServerInfo,
  targetDatabase: string,
  request: { readonly moves?: Readonly<Record<string, string>> },
): FileMove[][] {
  const overrides = request.moves ?? {};
  const explicit = Object.keys(overrides).length > 0;
  const inPlace = sameDatabaseName(targetDatabase, plan.database);
  if (inPlace && !explicit) return plan.steps.map(() => []);
  if (!fileLists[0]) {
    if (inPlace || explicit) {
      const given = Object.entries(overrides).map(([logicalName, physicalName]) => ({
        logicalName,
        physicalName,
      }));
      return plan.steps.map((step) => (step.type === 'log' ? [] : given));
    }
    throw new UsageError(
      `[sqlserver:restore] the full ${plan.steps[0]?.backupSetGuid ?? ''} was taken outside hbr, so its file list is unknown: give --move LOGICAL=PATH for every file`,
    );
  }
  const union = new Map<string, BackupFileEntry>();
  for (const file of fileLists.flatMap((list) => list ?? [])) {
    const key = file.logicalName.toLowerCase();
    if (!union.has(key)) union.set(key, file);
  }
  const targets = computeMoves([...union.values()], {
    sourceDatabase: plan.database,
    targetDatabase,
    dataDirectory: info.dataPath,
    logDirectory: info.logPath,
    overrides,
  });
  const byName = new Map(targets.map((m) => [m.logicalName.toLowerCase(), m]));
  const wanted = lower(overrides);
  const known = new Set<string>();
  return plan.steps.map((step, i) => {
    const names = fileLists[i]?.map((f) => f.logicalName.toLowerCase());
    // A log names only the files added during it; a data backup every file it holds.
    const named =
      step.type === 'log' ? (names ?? []).filter((n) => !known.has(n)) : (names ?? [...known]);
    for (const n of names ?? []) known.add(n);
    return [...new Set(named)]
      .map((n) => byName.get(n))
      .filter(
        (m): m is FileMove =>
          m !== undefined && (!inPlace || m.logicalName.toLowerCase() in wanted),
      );
  });
}

/** Keys lower-cased (logical names compare case-insensitively). */
function lower(o: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Where `stageForRestore` puts an artifact, as the server sees it. */
export function stagedPath(serverPath: string, backupId: string, artifact: string): string {
  const sep = serverPath.includes('\\') && !serverPath.includes('/') ? '\\' : '/';
  const dir = serverPath.endsWith(sep) ? serverPath : serverPath + sep;
  return `${dir}${backupId.slice(0, 16)}${sep}${artifact.split('/').pop() ?? artifact}`;
}

/** Where a dry run says the tail-log backup would go. */
export function tailDevice(settings: SqlServerSourceSettings, info: ServerInfo): BackupDevice {
  void info;
  const name = `${settings.database.replace(/[^A-Za-z0-9_.-]+/g, '_')}_log_tail.bak`;
  const t = settings.transport;
  if (t.kind === 'disk') return deviceOf(stagedPath(t.staging.serverPath, 'tail-log', name));
  const base = (t.url.publicUrl ?? 'https://hbr-endpoint').replace(/\/+$/, '');
  return { kind: 'url', path: `${base}/${t.url.container ?? 'hbr'}/${name}` };
}

/**
 * The tail-log backup a real in-place restore takes before it plans, as a dry run assumes it: on
 * the database's lineage and fork (from the fork it starts on, across the fork point, right after
 * a restore to a point in time), from its `last_log_backup_lsn` to past every recorded set (and
 * past an LSN target: whether the log reaches it shows only once the tail is taken), finished now.
 */
export function plannedTail(
  state: DatabaseState,
  records: readonly BackupSetRecord[],
  target: RestoreTarget,
  info: ServerInfo,
  device: BackupDevice,
): BackupSetRecord {
  const first = state.lastLogBackupLsn ?? 0n;
  let last = target.kind === 'lsn' && target.lsn > first ? target.lsn : first;
  let latest = target.kind === 'time' ? target.at.getTime() : 0;
  for (const r of records) {
    if (r.lastLsn > last) last = r.lastLsn;
    latest = Math.max(latest, r.finish.getTime());
  }
  const now = info.now ?? new Date(latest);
  return {
    backupSetGuid: 'planned tail-log backup',
    type: 'log',
    firstLsn: first,
    lastLsn: last + 1n,
    checkpointLsn: null,
    databaseBackupLsn: null,
    differentialBaseLsn: null,
    differentialBaseGuid: null,
    recoveryForkId: state.recoveryForkGuid,
    // After a restore to a point in time and before a log backup on the new fork, the next log
    // starts on the fork the restore left and crosses into the new one at the fork point.
    firstRecoveryForkId: state.firstRecoveryForkGuid ?? state.recoveryForkGuid,
    forkPointLsn: state.forkPointLsn,
    familyGuid: state.familyGuid,
    isCopyOnly: false,
    isDamaged: false,
    hasBulkLoggedData: false,
    // hbr takes the tail WITH CHECKSUM (tsql-restore.ts).
    hasBackupChecksums: true,
    utcOffsetMinutes: info.utcOffsetMinutes,
    start: now,
    finish: now,
    files: [device.path],
    position: 1,
    server: info.serverName,
    database: state.name,
    availabilityGroup: null,
  };
}

/** The catalog with a set that is not in the repository (yet). */
export function withPlanned(catalog: SqlServerCatalog, record: BackupSetRecord): SqlServerCatalog {
  const entry = { record, backupId: null };
  return {
    entries: [...catalog.entries, entry],
    records: [...catalog.records, record],
    unrestorable: catalog.unrestorable,
    entryOf: (r) => (r === record ? entry : catalog.entryOf(r)),
  };
}

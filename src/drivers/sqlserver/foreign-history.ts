/**
 * Backups of a source's database that hbr did not take, read from msdb: a DBA's manual full or
 * log backup, another tool's. Recorded with every hbr backup (`meta.foreign`) and read again live
 * before a restore, so the planner uses them (or says where the chain breaks) instead of silently
 * planning across a hole. Sets on hbr's own devices that the repository lacks are backups whose
 * commit failed: they are reported as gaps, never taken for someone else's.
 * @module
 */
import type { BackupRecord } from '../../repository/types.ts';
import type { BackupSetRecord } from './backup-set.ts';
import type { SqlServerSourceSettings, SqlServerTransport } from './backup-source.ts';
import { buildCatalog } from './catalog.ts';
import type { ExecOptions, SqlExecutor } from './executor.ts';
import { msdbHistoryQuery, parseMsdbRows } from './msdb.ts';
import { discardedSetWarning } from './nul-device.ts';

/**
 * msdb's sets of the database (last `importHistoryDays` days) that the repository does not hold.
 * A failing msdb read (no permission on msdb) adds a warning and returns none. Sets written to the
 * null device are left out, each with a warning (see `discarded` for a backup's).
 * @throws SourceError when msdb returns malformed rows.
 */
export async function readForeignHistory(
  exec: SqlExecutor,
  backups: readonly BackupRecord[],
  settings: SqlServerSourceSettings,
  server: string,
  opts: ExecOptions & {
    /** A set hbr holds but has not committed yet (the backup being taken). */
    exclude?: string;
    warnings: string[];
    /**
     * Given by a backup: the GUIDs of the sets written to the null device are added here, for its
     * manifest (`meta.discarded`), and only those no earlier backup of the source recorded are
     * warned of. msdb keeps such a set for `importHistoryDays`, and every backup meanwhile said
     * the same gap again; said once, by the first backup to see it. Without it (a restore), every
     * one is warned of: each explains a gap the plan may meet.
     */
    discarded?: string[];
  },
): Promise<BackupSetRecord[]> {
  const days = settings.importHistoryDays ?? 30;
  if (days === 0) return [];
  let rows: Record<string, unknown>[];
  try {
    rows = await exec.query(msdbHistoryQuery({ database: settings.database, days }), {
      ...(opts.signal ? { signal: opts.signal } : {}),
      timeoutMs: 0,
    });
  } catch (error) {
    opts.warnings.push(
      `msdb history not read (backups taken outside hbr stay unseen): ${(error as Error).message}`,
    );
    return [];
  }
  const own = new Set(
    buildCatalog(backups, settings.source)
      .entries.filter((e) => e.backupId !== null)
      .map((e) => e.record.backupSetGuid),
  );
  if (opts.exclude) own.add(opts.exclude.toLowerCase());
  const onOwnDevice = ownDeviceTest(settings.transport);
  const ours = (r: BackupSetRecord): boolean =>
    onOwnDevice !== null && r.files.every((f) => onOwnDevice(f));
  const { records, discarded } = parseMsdbRows(rows, server);
  const told = opts.discarded ? discardedRecordedBy(backups, settings.source) : new Set<string>();
  opts.discarded?.push(...discarded.map((r) => r.backupSetGuid));
  opts.warnings.push(
    ...discarded.filter((r) => !told.has(r.backupSetGuid)).map(discardedSetWarning),
  );
  for (const lost of records.filter((r) => ours(r) && !own.has(r.backupSetGuid))) {
    // BACKUP ran but its commit failed: SQL Server moved its chain on without the repository.
    opts.warnings.push(
      `msdb shows a ${lost.type} backup hbr took at ${lost.finish.toISOString()} (${lost.backupSetGuid}) that is not in the repository: ` +
        (lost.type === 'log'
          ? 'the log chain has a gap there until the next full or differential backup; take one now'
          : 'later differentials are based on it; take a full backup now'),
    );
  }
  return records.filter((r) => !own.has(r.backupSetGuid) && !ours(r));
}

// --- internal ---

/** The sets written to the null device that the source's backups recorded (`meta.discarded`). */
function discardedRecordedBy(backups: readonly BackupRecord[], source: string): Set<string> {
  const told = new Set<string>();
  for (const b of backups) {
    const guids = b.source === source && b.kind === 'sqlserver' ? b.meta.discarded : undefined;
    if (Array.isArray(guids)) for (const g of guids) if (typeof g === 'string') told.add(g);
  }
  return told;
}

/** Whether a path is one of hbr's own devices, when it is known where they live. */
function ownDeviceTest(t: SqlServerTransport): ((path: string) => boolean) | null {
  if (t.kind === 'disk') return insideFolder(t.staging.serverPath);
  if (!t.url.publicUrl) return null;
  const prefix = `${t.url.publicUrl.replace(/\/+$/, '')}/${t.url.container ?? 'hbr'}/`;
  return (path) => path.startsWith(prefix);
}

/**
 * A test for paths inside a server folder. The folder ends with a separator, so staging `D:\hbr`
 * does not claim a DBA's `D:\hbr-manual\x.trn`. A Windows folder (drive letter or backslash)
 * compares case-insensitively and takes either separator, as Windows does.
 */
function insideFolder(folder: string): (path: string) => boolean {
  const windows = /^[a-z]:|\\/i.test(folder);
  const norm = (p: string): string => (windows ? p.replace(/\//g, '\\').toLowerCase() : p);
  const prefix = `${norm(folder).replace(/[\\/]+$/, '')}${windows ? '\\' : '/'}`;
  return (path) => norm(path).startsWith(prefix);
}

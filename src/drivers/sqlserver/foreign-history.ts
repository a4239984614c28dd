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
import { lostSetWarning, recordedGuids } from './unrestorable.ts';

/**
 * msdb's sets of the database (last `importHistoryDays` days) that the repository does not hold.
 * A failing msdb read (no permission on msdb) adds a warning and returns none. Sets no restore can
 * read are left out, each with a warning: those written to the null device, and hbr's own that
 * the repository lacks (see `unrestorable.ts`).
 * @throws SourceError when msdb returns malformed rows.
 */
export async function readForeignHistory(
  exec: SqlExecutor,
  backups: readonly BackupRecord[],
  settings: SqlServerSourceSettings,
  server: string,
  opts: ExecOptions & {
    warnings: string[];
    /** The sets no restore can read are added here (for the planner, and a backup's manifest). */
    unrestorable?: BackupSetRecord[];
    /**
     * Given by a backup: the unrestorable sets no earlier backup of the source recorded
     * (`meta.discarded`, `meta.lost`) are warned of. msdb keeps such a set for
     * `importHistoryDays`, and every backup meanwhile said the same gap again; said once, by the
     * first backup to see it. What the gap means for the backup being taken (it cannot be
     * restored past it) is the backup's to say, each time. Without it (a restore), none is here:
     * the restore warns of those its plan crosses (`plan-path.ts`), or of every one when no plan
     * reaches the target, where one may explain the gap.
     */
    once?: boolean;
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
  const onOwnDevice = ownDeviceTest(settings.transport);
  const ours = (r: BackupSetRecord): boolean =>
    onOwnDevice !== null && r.files.every((f) => onOwnDevice(f));
  const { records, discarded } = parseMsdbRows(rows, server);
  const lost = records.filter((r) => ours(r) && !own.has(r.backupSetGuid));
  opts.unrestorable?.push(...discarded, ...lost);
  if (opts.once) {
    const toldDiscarded = recordedGuids(backups, settings.source, 'discarded');
    opts.warnings.push(
      ...discarded.filter((r) => !toldDiscarded.has(r.backupSetGuid)).map(discardedSetWarning),
    );
    const toldLost = recordedGuids(backups, settings.source, 'lost');
    opts.warnings.push(...lost.filter((r) => !toldLost.has(r.backupSetGuid)).map(lostSetWarning));
  }
  return records.filter((r) => !own.has(r.backupSetGuid) && !ours(r));
}

// --- internal ---

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

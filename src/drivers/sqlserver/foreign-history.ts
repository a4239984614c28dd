/**
 * Backups of a source's database that hbr did not take, read from msdb: a DBA's manual full or
 * log backup, another tool's. Recorded with every hbr backup (`meta.foreign`) and read again live
 * before a restore, so the planner uses them (or says where the chain breaks) instead of silently
 * planning across a hole. Sets on hbr's own devices that the repository lacks are backups whose
 * commit failed: they are reported as gaps, never taken for someone else's; but not the sets of
 * backups forget removed, nor those no restore can reach any more (`forgotten-sets.ts`), nor those
 * another backup of the source may still be committing (see {@link HistoryContext} `running`).
 * @module
 */
import { describeLock, type LockInfo } from '../../repository/locks.ts';
import type { BackupRecord } from '../../repository/types.ts';
import type { BackupSetRecord } from './backup-set.ts';
import type { SqlServerSourceSettings, SqlServerTransport } from './backup-source.ts';
import { buildCatalog } from './catalog.ts';
import type { ExecOptions, SqlExecutor } from './executor.ts';
import { beyondEveryRestore } from './forgotten-sets.ts';
import type { History } from './history.ts';
import { msdbHistoryQuery, parseMsdbRows } from './msdb.ts';
import { discardedSetWarning } from './nul-device.ts';
import { committingSetWarning, lostSetWarning, recordedGuids } from './unrestorable.ts';

/** What the repository says of the sets msdb shows. */
export interface HistoryContext {
  /** The repository's backups. */
  readonly backups: readonly BackupRecord[];
  /** The sets of the source forget removed (`readForgottenSets`). */
  readonly forgotten?: ReadonlySet<string>;
  /**
   * The live locks of the other backups of the source running now, described. A backup holds its
   * lock from before it reads msdb until after its manifest is written; a set of hbr's that msdb
   * shows is then in the manifests listed after the locks were looked at, or its backup's lock was
   * live then, or that backup ended without committing it. So while one is live, a set the
   * repository lacks and no earlier backup called lost is not lost yet. (No grace time after the
   * set's finish would do: VERIFYONLY and the copy into the repository take as long as they take.)
   */
  readonly running?: readonly string[];
}

/** How each set is taken, as told by {@link sortHistory}. */
export interface SortOptions {
  readonly warnings: string[];
  /** The sets no restore can read are added here (for the planner, and a backup's manifest). */
  readonly unrestorable?: BackupSetRecord[];
  /**
   * Given by a backup: the unrestorable sets no earlier backup of the source recorded
   * (`meta.discarded`, `meta.lost`) are warned of. msdb keeps such a set for
   * `importHistoryDays`, and every backup meanwhile said the same gap again; said once, by the
   * first backup to see it. What the gap means for the backup being taken (it cannot be
   * restored past it) is the backup's to say, each time. Without it (a restore), none is here:
   * the restore warns of those its plan crosses (`plan-path.ts`), or of every one when no plan
   * reaches the target, where one may explain the gap.
   */
  readonly once?: boolean;
}

/**
 * msdb's history of the database (last `importHistoryDays` days), or `null` when it was not read:
 * none asked for (0 days), or msdb not readable (no permission), with a warning.
 * @throws SourceError when msdb returns malformed rows.
 */
export async function readMsdbHistory(
  exec: SqlExecutor,
  settings: SqlServerSourceSettings,
  server: string,
  opts: ExecOptions & { warnings: string[] },
): Promise<History | null> {
  const days = settings.importHistoryDays ?? 30;
  if (days === 0) return null;
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
    return null;
  }
  return parseMsdbRows(rows, server);
}

/**
 * msdb's sets that the repository does not hold and hbr did not take. Sets no restore can read are
 * left out, each with a warning: those written to the null device, and hbr's own that are lost
 * (see `unrestorable.ts`). hbr's own that forget removed, that no restore reaches any more, or
 * that a running backup may still be committing (with a warning), are no one's.
 */
export function sortHistory(
  history: History | null,
  context: HistoryContext,
  settings: Pick<SqlServerSourceSettings, 'source' | 'transport'>,
  opts: SortOptions,
): BackupSetRecord[] {
  if (history === null) return [];
  const { backups } = context;
  const catalog = buildCatalog(backups, settings.source);
  const own = new Set(
    catalog.entries.filter((e) => e.backupId !== null).map((e) => e.record.backupSetGuid),
  );
  const onOwnDevice = ownDeviceTest(settings.transport);
  const ours = (r: BackupSetRecord): boolean =>
    onOwnDevice !== null && r.files.every((f) => onOwnDevice(f));
  const { records, discarded } = history;
  const foreign = records.filter((r) => !own.has(r.backupSetGuid) && !ours(r));
  // The sets a restore could read now: the repository's, and a DBA's that msdb shows.
  const restorable = [...catalog.records, ...foreign];
  const forgotten = context.forgotten ?? new Set<string>();
  const gone = records.filter(
    (r) =>
      ours(r) &&
      !own.has(r.backupSetGuid) &&
      !forgotten.has(r.backupSetGuid) &&
      !beyondEveryRestore(r, restorable),
  );
  // One an earlier backup called lost was judged while no other backup of the source ran.
  const toldLost = recordedGuids(backups, settings.source, 'lost');
  const running = context.running ?? [];
  const committing = gone.filter((r) => running.length > 0 && !toldLost.has(r.backupSetGuid));
  const lost = gone.filter((r) => !committing.includes(r));
  opts.unrestorable?.push(...discarded, ...lost);
  opts.warnings.push(...committing.map((r) => committingSetWarning(r, running)));
  if (opts.once) {
    const toldDiscarded = recordedGuids(backups, settings.source, 'discarded');
    opts.warnings.push(
      ...discarded.filter((r) => !toldDiscarded.has(r.backupSetGuid)).map(discardedSetWarning),
    );
    opts.warnings.push(...lost.filter((r) => !toldLost.has(r.backupSetGuid)).map(lostSetWarning));
  }
  return foreign;
}

/**
 * The other backups of `source` running now, described, from the repository's locks (see
 * {@link HistoryContext} `running`): read after msdb and before the manifests.
 */
export function runningBackups(locks: readonly LockInfo[], source: string): string[] {
  return locks
    .filter((l) => !l.stale && l.operation === 'backup' && l.source === source)
    .map(describeLock);
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

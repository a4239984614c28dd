/**
 * The SQL Server restore-chain planner (pure): backup-set records and a target in, the ordered
 * restore steps or a precise {@link PlanError} out. Rules as SQL Server applies them; see
 * `research/sqlserver.md` §1.4, §1.5, §1.13 and §4.
 * @module
 */
import { PlanError } from '../../errors.ts';
import { isEmptyLog, type BackupSetRecord } from './backup-set.ts';
import { bestDifferential, candidateFulls } from './chain-base.ts';
import { walkLogs } from './chain-logs.ts';
import { formatLsn } from './lsn.ts';
import type { RestorePlan, RestoreTarget } from './plan.ts';

/** Options of {@link planRestore}. */
export interface PlanOptions {
  /**
   * The database to plan for; required when the history holds several. Compared as SQL Server
   * does by default: case-insensitive, trailing spaces ignored.
   */
  readonly database?: string;
}

/**
 * Plans the restore of one database to `target`.
 *
 * Base: the full with the highest LastLSN that ends before the target (copy-only fulls allowed);
 * then the latest differential based on it that ends before the target; then the log backups
 * contiguous by LSN from that base, on the same recovery fork, empty ones dropped, up to and
 * including the first that ends at or after the target time (or contains the target LSN).
 * Backups from several servers (availability-group replicas) are one database. When the
 * preferred full cannot reach the target, older fulls are tried and a warning says so.
 * @throws PlanError with reason `NO_BACKUPS`, `DATABASE_AMBIGUOUS`, `NO_FULL_BEFORE_TARGET`,
 * `LSN_GAP`, `FORK_MISMATCH`, `TAIL_LOG_NEEDED` or `STOP_IN_BULK_LOGGED_LOG` (the target lies
 * inside a log backup with bulk-logged changes).
 */
export function planRestore(
  records: readonly BackupSetRecord[],
  target: RestoreTarget,
  options: PlanOptions = {},
): RestorePlan {
  const { name, sets } = selectDatabase(records, options.database);
  const usable = sets.filter((r) => !r.isDamaged);
  // `latest` is the state after the newest backup: after a restore to a point in time, older
  // backups on the abandoned fork reach higher LSNs, and a database dropped and re-created under
  // the same name starts its LSNs again below the old one's.
  const newest = target.kind === 'latest' ? newestBackup(usable) : undefined;
  const fulls = candidateFulls(usable, target).filter(
    (full) => !newest || sameLineage(full, newest),
  );
  if (fulls.length === 0) throw noFull(name, usable, target);
  const warnings: string[] = [];
  let firstError: PlanError | null = null;
  for (const full of fulls) {
    try {
      // A database dropped and re-created under the same name has a new LSN space: never mix lineages.
      const lineage = usable.filter((r) => sameLineage(r, full));
      const diff = bestDifferential(lineage, full, target);
      const walk = walkLogs(lineage, diff ?? full, target, newest);
      const steps = [full, ...(diff ? [diff] : []), ...walk.logs];
      if (walk.coveredByEmptyLogs) {
        warnings.push(
          `the target is after the last log record; empty log backups show the database did not change after ${steps.at(-1)!.finish.toISOString()}`,
        );
      }
      const lastIsLog = walk.logs.length > 0 && !walk.coveredByEmptyLogs;
      const stop = stopInside(steps, {
        stopAt: target.kind === 'time' && lastIsLog ? target.at : null,
        stopAtLsn: target.kind === 'lsn' && walk.logs.length > 0 ? target.lsn : null,
      });
      return { database: name, target, steps, ...stop, warnings };
    } catch (error) {
      if (!(error instanceof PlanError)) throw error;
      firstError ??= error;
      warnings.push(`full ${full.backupSetGuid} cannot reach the target: ${error.message}`);
    }
  }
  throw firstError!;
}

/**
 * Plans the restore that ends exactly at log backup `log` (a restore to that backup): the chain
 * that reaches it, whatever is newer. The fulls of its lineage that end before it are tried in
 * {@link candidateFulls} order, each with its latest differential and then without, and the first
 * whose log walk arrives at `log` wins. Planning for `latest` among the sets up to it instead
 * ranks bases by what is newest: after a restore to a point in time, a full on the new recovery
 * fork with a lower LastLSN than `log` wins, and its chain never reaches `log`. An empty log
 * (`FirstLSN = LastLSN`) is reached by the chain ending where it stands (nothing changed since).
 * @throws PlanError `BACKUP_DAMAGED` when `log` is marked damaged; `NO_FULL_BEFORE_TARGET` when no
 * full precedes it; else the first chain's error (`LSN_GAP`, `FORK_MISMATCH`, …).
 */
export function planToLog(records: readonly BackupSetRecord[], log: BackupSetRecord): RestorePlan {
  if (log.isDamaged) {
    throw new PlanError(
      'BACKUP_DAMAGED',
      `[sqlserver:plan] ${log.database}: log ${log.backupSetGuid} is marked damaged`,
    );
  }
  // Nothing after it: the walk must stop there, not reach past it.
  const sets = records.filter(
    (r) =>
      !r.isDamaged &&
      sameDatabaseName(r.database, log.database) &&
      sameLineage(r, log) &&
      r.lastLsn <= log.lastLsn,
  );
  const upTo: RestoreTarget = { kind: 'lsn', lsn: log.lastLsn };
  const fulls = candidateFulls(sets, upTo);
  if (fulls.length === 0) throw noFull(log.database, sets, upTo);
  let firstError: PlanError | null = null;
  for (const full of fulls) {
    const diff = bestDifferential(sets, full, upTo);
    for (const base of diff ? [[full, diff], [full]] : [[full]]) {
      try {
        const walk = walkLogs(sets, base.at(-1)!, { kind: 'latest' }, log, true);
        const steps = [...base, ...walk.logs];
        const warnings = isEmptyLog(log)
          ? [
              `log ${log.backupSetGuid} is empty (no log records): the database did not change after ${steps.at(-1)!.backupSetGuid}, whose end it restores to`,
            ]
          : [];
        return {
          database: log.database,
          target: { kind: 'latest' },
          steps,
          stopAt: null,
          stopAtLsn: null,
          warnings,
        };
      } catch (error) {
        if (!(error instanceof PlanError)) throw error;
        firstError ??= error;
      }
    }
  }
  throw firstError!;
}

/** Database names as SQL Server compares them by default. */
export function sameDatabaseName(a: string, b: string): boolean {
  return a.trimEnd().toLowerCase() === b.trimEnd().toLowerCase();
}

// --- internal ---

/**
 * The stop for the last step. SQL Server cannot stop inside a log backup that holds bulk-logged
 * changes (Msg 4341), and says so only when that log is restored, after every earlier step ran.
 * Its end is a restorable point: a target there restores the whole log, without STOPAT.
 */
function stopInside(
  steps: readonly BackupSetRecord[],
  stop: Pick<RestorePlan, 'stopAt' | 'stopAtLsn'>,
): Pick<RestorePlan, 'stopAt' | 'stopAtLsn'> {
  const log = steps.at(-1)!;
  if (!log.hasBulkLoggedData || (stop.stopAt === null && stop.stopAtLsn === null)) return stop;
  if (stop.stopAt !== null && stop.stopAt.getTime() >= log.finish.getTime()) {
    return { stopAt: null, stopAtLsn: null };
  }
  const before = steps.at(-2)!;
  const wanted =
    stop.stopAt !== null
      ? `time ${stop.stopAt.toISOString()}`
      : `LSN ${formatLsn(stop.stopAtLsn!)}`;
  throw new PlanError(
    'STOP_IN_BULK_LOGGED_LOG',
    `[sqlserver:plan] ${log.database}: the target ${wanted} lies inside log backup ${log.backupSetGuid} ` +
      `(LSN ${formatLsn(log.firstLsn)}–${formatLsn(log.lastLsn)}), which holds bulk-logged changes: ` +
      `SQL Server cannot stop inside it; the nearest points are ${before.finish.toISOString()} ` +
      `(LSN ${formatLsn(before.lastLsn)}, the end of the ${before.type} backup before it) and ` +
      `${log.finish.toISOString()} (LSN ${formatLsn(log.lastLsn)}, its end)`,
  );
}

/** The backup taken last (a later LastLSN breaks a tie); empty log backups hold nothing to reach. */
function newestBackup(sets: readonly BackupSetRecord[]): BackupSetRecord | undefined {
  let newest: BackupSetRecord | undefined;
  for (const r of sets) {
    if (isEmptyLog(r)) continue;
    const later =
      !newest ||
      r.finish.getTime() > newest.finish.getTime() ||
      (r.finish.getTime() === newest.finish.getTime() && r.lastLsn > newest.lastLsn);
    if (later) newest = r;
  }
  return newest;
}

function sameLineage(a: BackupSetRecord, b: BackupSetRecord): boolean {
  return a.familyGuid === null || b.familyGuid === null || a.familyGuid === b.familyGuid;
}

function selectDatabase(
  records: readonly BackupSetRecord[],
  wanted: string | undefined,
): { name: string; sets: BackupSetRecord[] } {
  const names = [
    ...new Map(records.map((r) => [r.database.trimEnd().toLowerCase(), r.database])).values(),
  ];
  if (wanted !== undefined) {
    const sets = records.filter((r) => sameDatabaseName(r.database, wanted));
    if (sets.length === 0) {
      throw new PlanError(
        'NO_BACKUPS',
        `[sqlserver:plan] no backups of database ${JSON.stringify(wanted)} in the history` +
          (names.length > 0 ? ` (it has: ${names.map((n) => JSON.stringify(n)).join(', ')})` : ''),
      );
    }
    return { name: sets[0]!.database, sets };
  }
  if (names.length === 0)
    throw new PlanError('NO_BACKUPS', '[sqlserver:plan] the history holds no backups');
  if (names.length > 1) {
    throw new PlanError(
      'DATABASE_AMBIGUOUS',
      `[sqlserver:plan] the history holds ${names.length} databases (${names.map((n) => JSON.stringify(n)).join(', ')}): name one with --database`,
    );
  }
  return { name: names[0]!, sets: [...records] };
}

function noFull(name: string, sets: readonly BackupSetRecord[], target: RestoreTarget): PlanError {
  const fulls = sets.filter((r) => r.type === 'full');
  if (fulls.length === 0) {
    return new PlanError(
      'NO_FULL_BEFORE_TARGET',
      `[sqlserver:plan] ${name}: the history holds no full backup`,
    );
  }
  const earliest = fulls.reduce((a, b) => (b.finish < a.finish ? b : a));
  const wanted =
    target.kind === 'time'
      ? `time ${target.at.toISOString()}`
      : `LSN ${target.kind === 'lsn' ? formatLsn(target.lsn) : ''}`;
  return new PlanError(
    'NO_FULL_BEFORE_TARGET',
    `[sqlserver:plan] ${name}: no full backup ends before ${wanted}; the earliest full ` +
      `${earliest.backupSetGuid} ends at ${earliest.finish.toISOString()} (LastLSN ${formatLsn(earliest.lastLsn)})`,
  );
}

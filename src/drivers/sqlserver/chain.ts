/**
 * The SQL Server restore-chain planner (pure): backup-set records and a target in, the ordered
 * restore steps or a precise {@link PlanError} out. Rules as SQL Server applies them; see
 * `research/sqlserver.md` §1.4, §1.5, §1.13 and §4.
 * @module
 */
import { PlanError } from '../../errors.ts';
import { isEmptyLog, sameLineage, type BackupSetRecord } from './backup-set.ts';
import { candidateFulls, differentialsOn } from './chain-base.ts';
import { forkFirstSeen, walkLogs, type WalkOptions } from './chain-logs.ts';
import { compareLsn, formatLsn } from './lsn.ts';
import type { RestorePlan, RestoreTarget } from './plan.ts';

/** Options of {@link planRestore}. */
export interface PlanOptions {
  /**
   * The database to plan for; required when the history holds several. Compared as SQL Server
   * does by default: case-insensitive, trailing spaces ignored.
   */
  readonly database?: string;
  /**
   * Sets msdb recorded that no restore can read (see `unrestorable.ts`): a gap one of them leaves
   * is reported naming it (`LSN_GAP`).
   */
  readonly unrestorable?: readonly BackupSetRecord[];
}

/**
 * Plans the restore of one database to `target`.
 *
 * Base: the full with the highest LastLSN that ends before the target (copy-only fulls allowed);
 * then the latest differential based on it that ends before the target and leads to it (an older
 * one, or none, when the latest lies on a recovery branch a restore to a point in time abandoned);
 * then the log backups contiguous by LSN from that base, on the same recovery fork, empty ones
 * dropped, up to and including the first that ends at or after the target time (or contains the
 * target LSN). A time target is looked for on the branch the database was on at that time (see
 * {@link walkLogs}). An LSN that lies on several recovery forks is restored on the newest of them
 * (first seen last), with a warning naming them. Backups from several servers
 * (availability-group replicas) are one database. When the preferred full cannot reach the
 * target, older fulls are tried and a warning says so.
 * @throws PlanError with reason `NO_BACKUPS`, `DATABASE_AMBIGUOUS`, `NO_FULL_BEFORE_TARGET`,
 * `LSN_GAP` (naming the unrestorable log that left it, when one is known), `FORK_MISMATCH`,
 * `TAIL_LOG_NEEDED`, `TARGET_BETWEEN_FORKS` (the target time lies between the last backup on a
 * fork and the first on the fork a restore replaced it with) or `STOP_IN_BULK_LOGGED_LOG` (the
 * target lies inside a log backup with bulk-logged changes).
 */
export function planRestore(
  records: readonly BackupSetRecord[],
  target: RestoreTarget,
  options: PlanOptions = {},
): RestorePlan {
  const { name, sets } = selectDatabase(records, options.database);
  const usable = sets.filter((r) => !r.isDamaged);
  const unrestorable = (options.unrestorable ?? []).filter((r) =>
    sameDatabaseName(r.database, name),
  );
  // `latest` is the state after the newest backup: after a restore to a point in time, older
  // backups on the abandoned fork reach higher LSNs, and a database dropped and re-created under
  // the same name starts its LSNs again below the old one's.
  const newest = target.kind === 'latest' ? newestBackup(usable) : undefined;
  const fulls = candidateFulls(usable, target).filter(
    (full) => !newest || sameLineage(full, newest),
  );
  if (fulls.length === 0) throw noFull(name, usable, target);
  if (target.kind === 'lsn') {
    const holding = forksHolding(usable, target.lsn);
    for (const { fork } of holding.length > 1 ? holding : []) {
      try {
        const plan = planFromFulls(name, usable, fulls, target, { endFork: fork, unrestorable });
        return {
          ...plan,
          warnings: [lsnOnSeveralForks(target.lsn, holding, fork), ...plan.warnings],
        };
      } catch (error) {
        if (!(error instanceof PlanError)) throw error;
      }
    }
  }
  return planFromFulls(name, usable, fulls, target, { newest, unrestorable });
}

/**
 * Plans the restore that ends exactly at log backup `log` (a restore to that backup): the chain
 * that reaches it, whatever is newer. The fulls of its lineage that end before it are tried in
 * {@link candidateFulls} order, each with its differentials (latest first) and then without, and the first
 * whose log walk arrives at `log` wins. Planning for `latest` among the sets up to it instead
 * ranks bases by what is newest: after a restore to a point in time, a full on the new recovery
 * fork with a lower LastLSN than `log` wins, and its chain never reaches `log`. An empty log
 * (`FirstLSN = LastLSN`) is reached by the chain ending where it stands (nothing changed since).
 * @throws PlanError `BACKUP_DAMAGED` when `log` is marked damaged; `NO_FULL_BEFORE_TARGET` when no
 * full precedes it; else the first chain's error (`LSN_GAP`, `FORK_MISMATCH`, …).
 */
export function planToLog(
  records: readonly BackupSetRecord[],
  log: BackupSetRecord,
  options: Pick<PlanOptions, 'unrestorable'> = {},
): RestorePlan {
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
  const failed = new Map<string, PlanError>();
  for (const full of fulls) {
    for (const diff of [...differentialsOn(sets, full, upTo), null]) {
      const base = diff ? [full, diff] : [full];
      try {
        const walk = walkLogs(
          sets,
          base.at(-1)!,
          { kind: 'latest' },
          {
            newest: log,
            exact: true,
            failed,
            unrestorable: (options.unrestorable ?? []).filter((r) =>
              sameDatabaseName(r.database, log.database),
            ),
          },
        );
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
 * The plan from the first of `fulls` that reaches the target: each with its differentials, latest
 * first, then without one. A differential that does not lead to the target (it lies on a recovery
 * branch a restore to a point in time abandoned) is left out silently: the plan is as valid
 * without it, only longer. A full that cannot reach it is named in a warning.
 */
function planFromFulls(
  name: string,
  usable: readonly BackupSetRecord[],
  fulls: readonly BackupSetRecord[],
  target: RestoreTarget,
  walkOptions: WalkOptions,
): RestorePlan {
  const warnings: string[] = [];
  let firstError: PlanError | null = null;
  // The walks from every base of one lineage meet the same logs: where one failed, all do.
  const failed = new Map<string | null, Map<string, PlanError>>();
  for (const full of fulls) {
    if (!failed.has(full.familyGuid)) failed.set(full.familyGuid, new Map());
    const shared = { ...walkOptions, failed: failed.get(full.familyGuid)! };
    // A database dropped and re-created under the same name has a new LSN space: never mix lineages.
    const lineage = usable.filter((r) => sameLineage(r, full));
    let fullError: PlanError | null = null;
    for (const diff of [...differentialsOn(lineage, full, target), null]) {
      try {
        const walk = walkLogs(lineage, diff ?? full, target, shared);
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
        fullError ??= error;
      }
    }
    firstError ??= fullError;
    warnings.push(`full ${full.backupSetGuid} cannot reach the target: ${fullError!.message}`);
  }
  throw firstError!;
}

/**
 * The recovery forks on which log backups hold `lsn` (the fork each such log ends on), the newest
 * (first seen last) first. A restore to a point in time makes the LSNs after its fork point exist
 * twice: on the abandoned fork and on the new one.
 */
function forksHolding(
  sets: readonly BackupSetRecord[],
  lsn: bigint,
): { fork: string; log: BackupSetRecord }[] {
  const byFork = new Map<string, BackupSetRecord>();
  for (const r of sets) {
    if (r.type !== 'log' || r.recoveryForkId === null || !(r.firstLsn <= lsn && lsn < r.lastLsn))
      continue;
    if (!byFork.has(r.recoveryForkId)) byFork.set(r.recoveryForkId, r);
  }
  const seen = forkFirstSeen(sets);
  return [...byFork]
    .map(([fork, log]) => ({ fork, log }))
    .sort((a, b) => seen.get(b.fork)!.getTime() - seen.get(a.fork)!.getTime());
}

function lsnOnSeveralForks(
  lsn: bigint,
  holding: readonly { fork: string; log: BackupSetRecord }[],
  chosen: string,
): string {
  const where = holding
    .map(({ fork, log }) => `fork ${fork} (log ${log.backupSetGuid})`)
    .join(' and ');
  const how = chosen === holding[0]!.fork ? 'the newest' : 'the newest a chain reaches';
  return (
    `LSN ${formatLsn(lsn)} lies in log backups on several recovery forks: ${where}. After a restore ` +
    `to a point in time, the LSNs past its fork point exist on both forks, as different states. ` +
    `hbr restores it on fork ${chosen}, ${how}; to restore another, give a time instead (a time ` +
    `names one fork)`
  );
}

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

/**
 * The backup taken last; empty log backups hold nothing to reach. Across lineages and recovery
 * forks only the finish time tells (a later LastLSN breaks a tie); on the fork of the one that
 * finished last, the highest LastLSN is the newest: finish times have one-second resolution and
 * come from each server's clock (availability-group replicas).
 */
function newestBackup(sets: readonly BackupSetRecord[]): BackupSetRecord | undefined {
  const filled = sets.filter((r) => !isEmptyLog(r));
  const latest = (a: BackupSetRecord, b: BackupSetRecord): number =>
    a.finish.getTime() - b.finish.getTime() || compareLsn(a.lastLsn, b.lastLsn);
  let newest: BackupSetRecord | undefined;
  for (const r of filled) if (!newest || latest(r, newest) > 0) newest = r;
  const fork = newest?.recoveryForkId ?? null;
  if (fork === null) return newest;
  for (const r of filled) {
    if (r.recoveryForkId === fork && sameLineage(r, newest!) && r.lastLsn > newest!.lastLsn)
      newest = r;
  }
  return newest;
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

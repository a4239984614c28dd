/**
 * The log walk: from a restore base, the contiguous log backups up to the target.
 * @module
 */
import { PlanError } from '../../errors.ts';
import { isEmptyLog, sameLineage, type BackupSetRecord } from './backup-set.ts';
import { sameFork } from './chain-base.ts';
import { compareLsn, formatLsn } from './lsn.ts';
import type { RestoreTarget } from './plan.ts';
import { describeUnrestorable } from './unrestorable.ts';

/** The logs to apply after the base, and what the planner should tell the user. */
export interface LogWalk {
  readonly logs: BackupSetRecord[];
  /** True when the target is covered only by empty log backups after the last applied log. */
  readonly coveredByEmptyLogs: boolean;
}

/** Options of {@link walkLogs}. */
export interface WalkOptions {
  /**
   * With `latest`: the newest backup of the database; the walk must reach it, on its fork. With
   * `exact`, it must end exactly at its LastLSN (a restore to that log backup).
   */
  readonly newest?: BackupSetRecord;
  readonly exact?: boolean;
  /**
   * With an LSN target: the recovery fork the log holding the target must end on. After a restore
   * to a point in time the same LSN exists on both forks, and names two states past the fork point.
   */
  readonly endFork?: string;
  /**
   * Where walks over the same records, target and options failed, by log and fork: shared by the
   * walks from each base a planner tries, which meet the same logs again.
   */
  readonly failed?: Map<string, PlanError>;
  /**
   * Sets msdb recorded that no restore can read (written to the null device; hbr's own whose
   * commit failed): where one of these logs would continue the chain, the walk fails with
   * `LSN_GAP` naming it, as no later backup (a tail-log backup neither) can replace it.
   */
  readonly unrestorable?: readonly BackupSetRecord[];
}

/**
 * Walks the log backups from `anchor` (the full, or the differential on it). A log applies when
 * `FirstLSN <= current < LastLSN` (overlaps are fine; a log ending at or before `current` adds
 * nothing) and it starts on the current recovery fork. Among several, the one reaching furthest
 * is tried first, and the others when it leads nowhere: after a restore to a point in time, the
 * abandoned fork's logs reach further in LSN than the new fork's, which start below them. With
 * `latest`, the walk must reach `newest` (the newest backup of the database, on its fork); with
 * `exact`, it must end exactly at `newest`'s LastLSN on its fork (a restore to that log backup,
 * whose caller leaves out the sets ending after it; an empty log is reached by the log ending
 * where it stands). Empty logs (`FirstLSN = LastLSN`) are never applied.
 *
 * A time target is looked for on the branch the database was on at that time: a recovery fork
 * exists only from the restore that created it, and the history shows that restore only by the
 * first backup taken on the fork (the earliest start of a set ending on it). A log entering a fork
 * is not taken for a time before that: a STOPAT there stops at the fork point, an older state.
 * @throws PlanError `LSN_GAP` (both LSNs in the message) when later logs exist but none continues
 * the chain and the target lies beyond, or an unrestorable log (`options.unrestorable`) would
 * continue it (named in the message); `FORK_MISMATCH` when the only continuing logs are on
 * another fork, or `latest` ends on a fork the newest backup is not on; `TAIL_LOG_NEEDED` when
 * the target lies after the last log; `TARGET_BETWEEN_FORKS` when a target time lies after the
 * last log backup on a fork and before the first backup on the fork a restore replaced it with.
 */
export function walkLogs(
  records: readonly BackupSetRecord[],
  anchor: BackupSetRecord,
  target: RestoreTarget,
  options: WalkOptions = {},
): LogWalk {
  const { newest, exact = false, endFork, unrestorable = [] } = options;
  const logs = records
    .filter((r) => r.type === 'log' && !isEmptyLog(r))
    .sort((a, b) => compareLsn(a.lastLsn, b.lastLsn) || compareLsn(a.firstLsn, b.firstLsn));
  const firstSeen = forkFirstSeen(records);
  // Whether taking `log` from `fork` keeps the walk on the branch the database was on at the target.
  const forkExisted = (log: BackupSetRecord, fork: string | null): boolean => {
    if (target.kind !== 'time' || log.recoveryForkId === null) return true;
    if (sameFork(fork, log.recoveryForkId)) return true;
    return firstSeen.get(log.recoveryForkId)!.getTime() <= target.at.getTime();
  };
  const reached = (tip: BackupSetRecord, fork: string | null): boolean => {
    if (target.kind === 'time') return tip.finish.getTime() >= target.at.getTime();
    // The set holds records below LastLSN, so it contains the target LSN only when LastLSN > target.
    if (target.kind === 'lsn') return tip.lastLsn > target.lsn;
    if (newest === undefined || !sameFork(fork, newest.recoveryForkId)) return false;
    if (exact) return tip.lastLsn === newest.lastLsn;
    // On one fork, LSNs order the backups; finish times (whole seconds, each server's own clock)
    // do not: two logs finish in the same second. Where a fork is unknown, an LSN past the newest
    // may lie on a fork a restore abandoned, and only the finish time tells it from one after it.
    if (tip.lastLsn < newest.lastLsn) return false;
    return (
      (fork !== null && newest.recoveryForkId !== null) ||
      tip.finish.getTime() >= newest.finish.getTime()
    );
  };
  // Where a walk from a log on a fork failed, it fails again: known, overlapping logs (two
  // replicas backing up one database) do not make the search exponential.
  const failed = options.failed ?? new Map<string, PlanError>();
  /** A log (or the anchor) the walk stands on, and the logs it may go on with, in turn. */
  interface Step {
    readonly tip: BackupSetRecord;
    readonly fork: string | null;
    readonly key: string;
    readonly continuing: readonly BackupSetRecord[];
    readonly candidates: readonly BackupSetRecord[];
    readonly notYet: readonly BackupSetRecord[];
    tried: number;
    firstError?: PlanError;
  }
  const stepOn = (tip: BackupSetRecord, fork: string | null, key: string): Step => {
    const lsn = tip.lastLsn;
    const continuing = logs.filter((l) => l.firstLsn <= lsn && lsn < l.lastLsn);
    const onFork = continuing.filter((l) => sameFork(fork, l.firstRecoveryForkId)).sort(further);
    return {
      tip,
      fork,
      key,
      continuing,
      candidates: onFork.filter((l) => forkExisted(l, fork)),
      notYet: onFork.filter((l) => !forkExisted(l, fork)),
      tried: 0,
    };
  };
  // Every log after `step.tip` led nowhere: what the walk ends with there, or why it fails.
  const endAt = (step: Step): LogWalk => {
    const { tip, fork, notYet, continuing, firstError } = step;
    // The branch the chain is on ends before the target, and the fork that replaced it was created
    // at a time the history does not show: either branch may be the one the target is on.
    const fail = (error: PlanError): PlanError =>
      notYet.length > 0 && error.reason === 'TAIL_LOG_NEEDED'
        ? betweenForks(records, tip, fork, notYet[0]!, target, firstSeen)
        : error;
    if (firstError) throw fail(firstError);
    const lsn = tip.lastLsn;
    const elsewhere = continuing.filter((l) => !sameFork(fork, l.firstRecoveryForkId));
    if (elsewhere.length > 0) throw forkMismatch(tip, elsewhere[0]!, fork);
    const later = logs.find(
      (l) => l.lastLsn > lsn && sameFork(fork, l.firstRecoveryForkId) && forkExisted(l, fork),
    );
    const lost = unrestorable.find(
      (u) =>
        u.type === 'log' &&
        u.firstLsn <= lsn &&
        lsn < u.lastLsn &&
        sameFork(fork, u.firstRecoveryForkId) &&
        sameLineage(u, tip),
    );
    if (later) throw gap(tip, later, lost);
    if (target.kind === 'latest') {
      if (newest === undefined) return { logs: [], coveredByEmptyLogs: false };
      if (lost) throw gap(tip, undefined, lost);
      throw exact ? notReached(tip, newest) : notNewest(tip, newest);
    }
    // Empty logs before the unrestorable one may still show nothing changed up to the target.
    if (target.kind === 'time' && emptyLogsCover(records, tip, fork, target.at)) {
      return { logs: [], coveredByEmptyLogs: true };
    }
    // No tail-log backup can reach past it: it would start after the records the set held.
    if (lost) throw gap(tip, undefined, lost);
    throw fail(tailLogNeeded(tip, target));
  };
  // A depth-first search kept on a stack of its own, not the call stack: a month of logs every
  // 15 minutes after one full is about 3,000 steps deep, past what recursion could take.
  const path: Step[] = [];
  let end: LogWalk | undefined;
  let error: PlanError | undefined;
  const enter = (tip: BackupSetRecord, fork: string | null): void => {
    const key = `${tip.backupSetGuid} ${fork ?? ''}`;
    error = failed.get(key);
    if (error) return;
    if (!reached(tip, fork)) {
      path.push(stepOn(tip, fork, key));
      return;
    }
    if (target.kind === 'lsn' && endFork !== undefined && !sameFork(fork, endFork)) {
      error = otherFork(tip, target.lsn, fork, endFork);
      failed.set(key, error);
      return;
    }
    end = { logs: [], coveredByEmptyLogs: false };
  };
  enter(anchor, anchor.recoveryForkId);
  while (end === undefined) {
    const step = path.at(-1);
    if (step === undefined) throw error!;
    if (error) step.firstError ??= error;
    error = undefined;
    const next = step.candidates[step.tried++];
    // LastLSN grows at every step, so the walk ends.
    if (next) {
      enter(next, next.recoveryForkId ?? step.fork);
      continue;
    }
    path.pop();
    try {
      end = endAt(step);
    } catch (thrown) {
      if (!(thrown instanceof PlanError)) throw thrown;
      failed.set(step.key, thrown);
      error = thrown;
    }
  }
  // Each step on the path went on with the log it tried last.
  return { ...end, logs: [...path.map((s) => s.candidates[s.tried - 1]!), ...end.logs] };
}

/**
 * When each recovery fork was first seen: the earliest start of a backup set ending on it. The
 * restore that created the fork happened before; how long before, the history does not say.
 */
export function forkFirstSeen(records: readonly BackupSetRecord[]): Map<string, Date> {
  const seen = new Map<string, Date>();
  for (const r of records) {
    if (r.recoveryForkId === null) continue;
    const known = seen.get(r.recoveryForkId);
    if (!known || r.start.getTime() < known.getTime()) seen.set(r.recoveryForkId, r.start);
  }
  return seen;
}

// --- internal ---

/** Orders logs the walk prefers first: reaching further, then finished later. */
function further(a: BackupSetRecord, b: BackupSetRecord): number {
  return compareLsn(b.lastLsn, a.lastLsn) || b.finish.getTime() - a.finish.getTime();
}

/** Empty log backups starting where the chain ends prove nothing changed up to their finish. */
function emptyLogsCover(
  records: readonly BackupSetRecord[],
  tip: BackupSetRecord,
  fork: string | null,
  at: Date,
): boolean {
  return records.some(
    (r) =>
      isEmptyLog(r) &&
      r.firstLsn === tip.lastLsn &&
      sameFork(fork, r.firstRecoveryForkId) &&
      r.finish.getTime() >= at.getTime(),
  );
}

function describe(r: BackupSetRecord): string {
  return `${r.type} ${r.backupSetGuid} (LSN ${formatLsn(r.firstLsn)}–${formatLsn(r.lastLsn)}, finished ${r.finish.toISOString()})`;
}

function gap(
  tip: BackupSetRecord,
  later: BackupSetRecord | undefined,
  lost: BackupSetRecord | undefined,
): PlanError {
  const between = later
    ? `between LSN ${formatLsn(tip.lastLsn)} (end of ${describe(tip)}) and LSN ${formatLsn(later.firstLsn)} (start of ${describe(later)})`
    : `after LSN ${formatLsn(tip.lastLsn)} (end of ${describe(tip)})`;
  const why = lost
    ? `the log backup continuing the chain is ${describeUnrestorable(lost)}${later ? '' : ', and no later backup continues it'}`
    : 'a log backup is missing';
  return new PlanError(
    'LSN_GAP',
    `[sqlserver:plan] ${tip.database}: gap in the log chain ${between}: ${why}; the latest reachable point is ${tip.finish.toISOString()}`,
  );
}

function forkMismatch(tip: BackupSetRecord, log: BackupSetRecord, fork: string | null): PlanError {
  return new PlanError(
    'FORK_MISMATCH',
    `[sqlserver:plan] ${tip.database}: the log continuing LSN ${formatLsn(tip.lastLsn)} is ${describe(log)} ` +
      `on recovery fork ${log.firstRecoveryForkId ?? '?'}, but the chain is on fork ${fork ?? '?'}`,
  );
}

function otherFork(
  tip: BackupSetRecord,
  lsn: bigint,
  fork: string | null,
  wanted: string,
): PlanError {
  return new PlanError(
    'FORK_MISMATCH',
    `[sqlserver:plan] ${tip.database}: LSN ${formatLsn(lsn)} is reached in ${describe(tip)} on recovery ` +
      `fork ${fork ?? '?'}, not on fork ${wanted}`,
  );
}

/** The target time lies where the history cannot tell which recovery fork the database was on. */
function betweenForks(
  records: readonly BackupSetRecord[],
  tip: BackupSetRecord,
  fork: string | null,
  crossing: BackupSetRecord,
  target: RestoreTarget,
  firstSeen: ReadonlyMap<string, Date>,
): PlanError {
  const at = (target as { at: Date }).at;
  const newFork = crossing.recoveryForkId!;
  const born = firstSeen.get(newFork)!;
  const lastOnOld = records
    .filter((r) => fork !== null && r.recoveryForkId === fork)
    .reduce((a, b) => (b.finish.getTime() > a.finish.getTime() ? b : a), tip);
  return new PlanError(
    'TARGET_BETWEEN_FORKS',
    `[sqlserver:plan] ${tip.database}: the target time ${at.toISOString()} lies after the last backup on ` +
      `recovery fork ${fork ?? '?'} (${describe(lastOnOld)}) and before the first backup on fork ${newFork}, ` +
      `which a restore to an earlier point created (${describe(crossing)} enters it; the first backup on it ` +
      `started at ${born.toISOString()}). At that time the database was either still on fork ${fork ?? '?'}, ` +
      `past its last backup (that state is lost), or already restored to the earlier point: hbr cannot tell ` +
      `which, and restores neither. Choose a time up to ${lastOnOld.finish.toISOString()} (fork ${fork ?? '?'}) ` +
      `or from ${born.toISOString()} (fork ${newFork})`,
  );
}

function notNewest(tip: BackupSetRecord, newest: BackupSetRecord): PlanError {
  return new PlanError(
    'FORK_MISMATCH',
    `[sqlserver:plan] ${tip.database}: the chain ends at ${describe(tip)}, on another recovery fork ` +
      `than the newest backup, ${describe(newest)} (fork ${newest.recoveryForkId ?? '?'})`,
  );
}

function notReached(tip: BackupSetRecord, goal: BackupSetRecord): PlanError {
  return new PlanError(
    'LSN_GAP',
    `[sqlserver:plan] ${tip.database}: the chain ends at ${describe(tip)} and does not reach ${describe(goal)} ` +
      `(fork ${goal.recoveryForkId ?? '?'})`,
  );
}

function tailLogNeeded(tip: BackupSetRecord, target: RestoreTarget): PlanError {
  const wanted =
    target.kind === 'time'
      ? `time ${target.at.toISOString()}`
      : `LSN ${formatLsn((target as { lsn: bigint }).lsn)}`;
  return new PlanError(
    'TAIL_LOG_NEEDED',
    `[sqlserver:plan] ${tip.database}: the target ${wanted} is after the last log backup ` +
      `(${describe(tip)}): take a tail-log backup first, or choose an earlier target`,
  );
}

/**
 * The log walk: from a restore base, the contiguous log backups up to the target.
 * @module
 */
import { PlanError } from '../../errors.ts';
import { isEmptyLog, type BackupSetRecord } from './backup-set.ts';
import { sameFork } from './chain-base.ts';
import { compareLsn, formatLsn } from './lsn.ts';
import type { RestoreTarget } from './plan.ts';

/** The logs to apply after the base, and what the planner should tell the user. */
export interface LogWalk {
  readonly logs: BackupSetRecord[];
  /** True when the target is covered only by empty log backups after the last applied log. */
  readonly coveredByEmptyLogs: boolean;
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
 * @throws PlanError `LSN_GAP` (both LSNs in the message) when later logs exist but none continues
 * the chain and the target lies beyond; `FORK_MISMATCH` when the only continuing logs are on
 * another fork, or `latest` ends on a fork the newest backup is not on; `TAIL_LOG_NEEDED` when
 * the target lies after the last log.
 */
export function walkLogs(
  records: readonly BackupSetRecord[],
  anchor: BackupSetRecord,
  target: RestoreTarget,
  newest?: BackupSetRecord,
  exact = false,
): LogWalk {
  const logs = records
    .filter((r) => r.type === 'log' && !isEmptyLog(r))
    .sort((a, b) => compareLsn(a.lastLsn, b.lastLsn) || compareLsn(a.firstLsn, b.firstLsn));
  const reached = (tip: BackupSetRecord, fork: string | null): boolean => {
    if (target.kind === 'time') return tip.finish.getTime() >= target.at.getTime();
    // The set holds records below LastLSN, so it contains the target LSN only when LastLSN > target.
    if (target.kind === 'lsn') return tip.lastLsn > target.lsn;
    if (newest === undefined || !sameFork(fork, newest.recoveryForkId)) return false;
    return exact ? tip.lastLsn === newest.lastLsn : tip.finish.getTime() >= newest.finish.getTime();
  };
  // Where a walk from a log on a fork failed, it fails again: known, overlapping logs (two
  // replicas backing up one database) do not make the search exponential.
  const failed = new Map<string, PlanError>();
  const walk = (tip: BackupSetRecord, fork: string | null): LogWalk => {
    const key = `${tip.backupSetGuid} ${fork ?? ''}`;
    const known = failed.get(key);
    if (known) throw known;
    try {
      return walkFrom(tip, fork);
    } catch (error) {
      if (error instanceof PlanError) failed.set(key, error);
      throw error;
    }
  };
  const walkFrom = (tip: BackupSetRecord, fork: string | null): LogWalk => {
    if (reached(tip, fork)) return { logs: [], coveredByEmptyLogs: false };
    const lsn = tip.lastLsn;
    const continuing = logs.filter((l) => l.firstLsn <= lsn && lsn < l.lastLsn);
    const onFork = continuing.filter((l) => sameFork(fork, l.firstRecoveryForkId)).sort(further);
    let firstError: PlanError | undefined;
    for (const next of onFork) {
      try {
        // LastLSN grows at every step, so the walk ends.
        const rest = walk(next, next.recoveryForkId ?? fork);
        return { ...rest, logs: [next, ...rest.logs] };
      } catch (error) {
        if (!(error instanceof PlanError)) throw error;
        firstError ??= error;
      }
    }
    if (firstError) throw firstError;
    if (continuing.length > 0) throw forkMismatch(tip, continuing[0]!, fork);
    const later = logs.find((l) => l.lastLsn > lsn && sameFork(fork, l.firstRecoveryForkId));
    if (later) throw gap(tip, later);
    if (target.kind === 'latest') {
      if (newest === undefined) return { logs: [], coveredByEmptyLogs: false };
      throw exact ? notReached(tip, newest) : notNewest(tip, newest);
    }
    if (target.kind === 'time' && emptyLogsCover(records, tip, fork, target.at)) {
      return { logs: [], coveredByEmptyLogs: true };
    }
    throw tailLogNeeded(tip, target);
  };
  return walk(anchor, anchor.recoveryForkId);
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

function gap(tip: BackupSetRecord, later: BackupSetRecord): PlanError {
  return new PlanError(
    'LSN_GAP',
    `[sqlserver:plan] ${tip.database}: gap in the log chain between LSN ${formatLsn(tip.lastLsn)} ` +
      `(end of ${describe(tip)}) and LSN ${formatLsn(later.firstLsn)} (start of ${describe(later)}): ` +
      `a log backup is missing; the latest reachable point is ${tip.finish.toISOString()}`,
  );
}

function forkMismatch(tip: BackupSetRecord, log: BackupSetRecord, fork: string | null): PlanError {
  return new PlanError(
    'FORK_MISMATCH',
    `[sqlserver:plan] ${tip.database}: the log continuing LSN ${formatLsn(tip.lastLsn)} is ${describe(log)} ` +
      `on recovery fork ${log.firstRecoveryForkId ?? '?'}, but the chain is on fork ${fork ?? '?'}`,
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

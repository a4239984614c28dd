/**
 * The stretch of the log a restore plan crosses, and which unrestorable sets (see
 * `unrestorable.ts`) lie on it. msdb and the manifests show every such set of the database, weeks
 * of them; a plan is warned only of those it had to cross, so in a disaster the one that matters is
 * not lost among the rest. A plan that fails names the set that stopped it in its error instead.
 * @module
 */
import { sameLineage, type BackupSetRecord } from './backup-set.ts';
import { sameDatabaseName } from './chain.ts';
import type { RestorePlan } from './plan.ts';
import { unrestorableWarning } from './unrestorable.ts';

/**
 * The sets of `sets` on the plan's path: of its database and lineage, holding log records the
 * restore needs past its full (after the full's LastLSN, whose records the full holds, and before
 * the end of its last step, or after it too when the target is `latest`: what such a set held is
 * what a restore to latest lacks), and, where forks are known, on the recovery fork the plan is on
 * there. A set bridged by the plan's differential is on it (the chain since the full breaks
 * there); one the full covers, one before the full or after the stop, and one on a fork the plan
 * does not take are not. To `latest`, a set of another lineage (the database dropped and made
 * again) that finished after the plan's last step is on it too: the plan restores the old
 * database because of it.
 */
export function crossedBy(
  plan: RestorePlan,
  sets: readonly BackupSetRecord[],
  options: PathOptions = {},
): BackupSetRecord[] {
  const full = plan.steps[0];
  const last = plan.steps.at(-1);
  if (!full || !last) return [];
  // LSNs the restore reads from logs (or a differential): [from, to). To `latest`, everything
  // after the stop too: a set there (the last log, written to NUL) is why latest ends short of it.
  const from = full.lastLsn;
  const toLatest = plan.target.kind === 'latest' && !options.toBackup;
  const to = toLatest ? null : last.lastLsn;
  return sets.filter((s) => {
    if (!sameDatabaseName(s.database, plan.database)) return false;
    // Another lineage's LSNs say nothing of this one's: only its time does.
    if (!sameLineage(s, full)) return toLatest && s.finish.getTime() > last.finish.getTime();
    const start = s.firstLsn > from ? s.firstLsn : from;
    const end = to === null || s.lastLsn < to ? s.lastLsn : to;
    return start < end && onPlanFork(plan.steps, s);
  });
}

/** The warnings of the unrestorable sets the plan crosses, in the order of `sets`. */
export function crossedWarnings(
  plan: RestorePlan,
  sets: readonly BackupSetRecord[],
  options: PathOptions = {},
): string[] {
  return crossedBy(plan, sets, options).map(unrestorableWarning);
}

export interface PathOptions {
  /**
   * The plan ends at one chosen backup (`restore --backup`), not at the latest point: what comes
   * after that backup is not the restore's to miss. Such plans have the target `latest` too.
   */
  readonly toBackup?: boolean;
}

// --- internal ---

/**
 * Whether the plan is on the set's recovery fork where the set starts. There the plan is on the
 * fork (or either fork, when it crosses a fork point) of the step that restores past the set's
 * first LSN: a log holding it, or the differential bridging it; past the plan's end, on the fork
 * its last step ends on. The set is on either of its own two forks, the one it starts on and the
 * one it ends on (a log crossing a fork point does not say where inside it the fork begins).
 * After a restore to a point in time, the abandoned fork's sets have the same LSNs as the new
 * fork's: only the fork tells them apart. Without the fork point LSN (not recorded), a set on the
 * abandoned fork inside a step that crosses the fork point is taken as on the plan's.
 */
function onPlanFork(steps: readonly BackupSetRecord[], set: BackupSetRecord): boolean {
  const own = [set.firstRecoveryForkId, set.recoveryForkId];
  const at = steps.find((s) => s.lastLsn > set.firstLsn);
  const plans = at ? [at.firstRecoveryForkId, at.recoveryForkId] : [steps.at(-1)!.recoveryForkId];
  // A fork not recorded (older history) may be any: the LSNs alone decide then.
  return plans.some((p) => p === null || own.some((f) => f === null || f === p));
}

/**
 * The stretch of the log a restore plan crosses, and which unrestorable sets (see
 * `unrestorable.ts`) lie on it. msdb and the manifests show every such set of the database, weeks
 * of them; a plan is warned only of those it had to cross, so in a disaster the one that matters is
 * not lost among the rest. A plan that fails names the set that stopped it in its error instead.
 * @module
 */
import type { BackupSetRecord } from './backup-set.ts';
import { sameDatabaseName } from './chain.ts';
import type { RestorePlan } from './plan.ts';
import { unrestorableWarning } from './unrestorable.ts';

/**
 * The sets of `sets` on the plan's path: of its database and lineage, holding log records the
 * restore needs past its full (after the full's LastLSN, whose records the full holds, and before
 * the end of its last step, or after it too when the target is `latest`: what such a set held is
 * what a restore to latest lacks), and, where both forks are known, on the recovery fork the plan is on
 * there. A set bridged by the plan's differential is on it (the chain since the full breaks
 * there); one the full covers, one before the full or after the stop, and one on a fork the plan
 * does not take are not.
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
  const to = plan.target.kind === 'latest' && !options.toBackup ? null : last.lastLsn;
  return sets.filter(
    (s) =>
      sameDatabaseName(s.database, plan.database) &&
      (s.familyGuid === null || full.familyGuid === null || s.familyGuid === full.familyGuid) &&
      (s.firstLsn > from ? s.firstLsn : from) < (to === null || s.lastLsn < to ? s.lastLsn : to) &&
      onPlanFork(plan.steps, s),
  );
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
 * Whether the plan is on the set's fork where the set starts: the fork of the last step starting
 * at or before it (either fork of a step that holds its start, since a log crossing a fork point
 * does not say where inside it the fork begins). After a restore to a point in time, the abandoned
 * fork's sets have the same LSNs as the new fork's: only the fork tells them apart.
 */
function onPlanFork(steps: readonly BackupSetRecord[], set: BackupSetRecord): boolean {
  const fork = set.firstRecoveryForkId ?? set.recoveryForkId;
  if (fork === null) return true;
  let at = steps[0]!;
  for (const s of steps) if (s.firstLsn <= set.firstLsn) at = s;
  const forks =
    set.firstLsn < at.lastLsn ? [at.firstRecoveryForkId, at.recoveryForkId] : [at.recoveryForkId];
  return forks.some((f) => f === null || f === fork);
}

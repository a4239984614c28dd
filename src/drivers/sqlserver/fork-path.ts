/**
 * The recovery fork path of a database: the fork it is on now and, back through their fork points,
 * the forks it branched from. A restore to a point in time (RESTORE … STOPAT, WITH RECOVERY) goes
 * on on a new fork from the point it stopped at; the LSNs after that point then exist twice, as
 * different states, and the backups of the fork it left that end past it are of a branch no
 * restore of the database as it is now goes through.
 * @module
 */
import type { BackupSetRecord } from './backup-set.ts';
import type { DatabaseState } from './eligibility.ts';
import type { Lsn } from './lsn.ts';

/**
 * Whether a set lies on the fork path of the database in `state`: it ends on the fork the database
 * is on now, or on one that fork branched from (directly or not) at or before the fork point where
 * the path left it. Which fork branched from which, and where, is read from the sets of `history`
 * that cross forks (the first log backup after such a restore) and from the database (a fork no log
 * backup has crossed into yet). A set whose fork is not known (older history) is on any path, and
 * so is every set when the database's fork is not known.
 */
export function onForkPath(
  state: Pick<DatabaseState, 'recoveryForkGuid' | 'firstRecoveryForkGuid' | 'forkPointLsn'>,
  history: readonly BackupSetRecord[],
): (set: BackupSetRecord) => boolean {
  const current = state.recoveryForkGuid;
  if (current === null) return () => true;
  // Each fork's parent and the LSN where it branched off; a fork is created once, in one place.
  const parents = new Map<string, { readonly fork: string; readonly at: Lsn }>();
  const branch = (from: string | null, to: string | null, at: Lsn | null): void => {
    if (from !== null && to !== null && from !== to && at !== null && !parents.has(to))
      parents.set(to, { fork: from, at });
  };
  // Without its fork point, a crossing log still goes on from the set before it on the old fork:
  // what ends there by its FirstLSN is on the path.
  for (const r of history)
    branch(r.firstRecoveryForkId, r.recoveryForkId, r.forkPointLsn ?? r.firstLsn);
  branch(state.firstRecoveryForkGuid, current, state.forkPointLsn);
  // The forks on the path, each with the LSN its sets must end by (none on the current one).
  const upTo = new Map<string, Lsn | null>([[current, null]]);
  for (let p = parents.get(current); p && !upTo.has(p.fork); p = parents.get(p.fork))
    upTo.set(p.fork, p.at);
  return (set) => {
    if (set.recoveryForkId === null) return true;
    const limit = upTo.get(set.recoveryForkId);
    return limit === null || (limit !== undefined && set.lastLsn <= limit);
  };
}

/**
 * Whether the backup about to be taken joins a chain a restore can use, read from the catalog (the
 * repository and msdb) and the database's state: a log backup is only as good as the chain that
 * reaches its first LSN, a differential only as good as its base full. Ola Hallengren's
 * ChangeBackupType promotes a backup SQL Server cannot take; hbr also promotes one it could take
 * but never restore (research §2.2; `eligibility.ts` decides).
 * @module
 */
import { PlanError } from '../../errors.ts';
import { sameLineage, type BackupSetRecord } from './backup-set.ts';
import { planToDataBackup } from './chain-base.ts';
import { planRestore, sameDatabaseName } from './chain.ts';
import type { DatabaseState } from './eligibility.ts';
import { onForkPath } from './fork-path.ts';
import { compareLsn, formatLsn } from './lsn.ts';
import { describeUnrestorable } from './unrestorable.ts';

/** What the history says about the chain the next backup of the database joins. */
export interface ChainFacts {
  /**
   * Why a log backup taken now could not be restored: the log chain from the newest full or
   * differential a restore can read does not reach the log's first LSN (a log backup to the null
   * device, one of hbr's whose commit failed, one hbr never saw). `null` when it could.
   */
  readonly logGap: LogGap | null;
  /**
   * Why a differential taken now could not be restored: its base (the last conventional full) is
   * no backup a restore can read. `null` when it is, or when there is no differential base.
   */
  readonly differentialBaseGap: string | null;
}

/** A gap in the log chain before the next log backup. */
export interface LogGap {
  /** What the gap is, for the user: the backups it names, or what hbr did not see. */
  readonly why: string;
  /**
   * The gap names the sets that left it: a log backup to the null device, or one of hbr's whose
   * commit failed. Otherwise the chain merely misses backups hbr has not seen, which in an
   * availability group may be another replica's: each replica's msdb records only its own.
   */
  readonly named: boolean;
}

/**
 * The facts for the database in `state`, from the sets a restore can read (`records`) and those
 * msdb recorded that none can (`unrestorable`).
 */
export function chainFacts(
  records: readonly BackupSetRecord[],
  unrestorable: readonly BackupSetRecord[],
  state: DatabaseState,
): ChainFacts {
  // One database, one lineage: a database dropped and re-created under its name starts again.
  const ofDb = (r: BackupSetRecord): boolean =>
    sameDatabaseName(r.database, state.name) && sameLineage(r, state);
  const sets = records.filter((r) => ofDb(r) && !r.isDamaged);
  const lost = unrestorable.filter(ofDb);
  // The log goes on from the fork the database is on now: a set of a fork a restore to a point in
  // time abandoned neither reaches its first LSN nor leaves a gap before it. (The differential base
  // is named by its id, on whatever fork.)
  const onPath = onForkPath(state, [...records, ...unrestorable].filter(ofDb));
  return {
    logGap: logGap(sets.filter(onPath), lost.filter(onPath), state),
    differentialBaseGap: differentialBaseGap(sets, lost, state),
  };
}

// --- internal ---

function logGap(
  sets: readonly BackupSetRecord[],
  unrestorable: readonly BackupSetRecord[],
  state: DatabaseState,
): LogGap | null {
  const from = state.lastLogBackupLsn;
  if (!state.hasLogChain || from === null) return null;
  // The bases a restore can start from: any full; a differential whose base full is there.
  const bases = sets.filter((r) => r.type === 'full' || (r.type === 'diff' && hasBase(sets, r)));
  // One taken since the last log backup: the new log goes on from it (FirstLSN <= its LastLSN).
  if (bases.some((b) => b.lastLsn >= from)) return null;
  try {
    // Reached once a chain's last log ends at `from`, where the new log starts.
    planRestore(sets, { kind: 'lsn', lsn: from - 1n }, { database: state.name });
    return null;
  } catch (error) {
    if (!(error instanceof PlanError)) throw error;
    // Only a chain that does not reach `from` is a gap. A plan refused for another reason
    // reached it: a log with bulk-logged changes cannot be stopped inside (every second log
    // of a BULK_LOGGED database was taken as a differential), and forks the sets do not name
    // and ambiguous names are for a restore to settle, not a reason for a larger backup.
    if (!UNREACHED.has(error.reason)) return null;
  }
  const base = bases.sort((a, b) => compareLsn(b.lastLsn, a.lastLsn))[0];
  if (!base)
    return {
      why: `no full backup a restore can read starts the log chain a log backup now would continue (LSN ${formatLsn(from)})`,
      named: false,
    };
  const since = `the log chain since the ${base.type} backup at ${base.finish.toISOString()} (${base.backupSetGuid})`;
  const missing = unrestorable.filter(
    (r) => r.type === 'log' && r.lastLsn > base.lastLsn && r.firstLsn < from,
  );
  if (missing.length > 0) {
    const named = missing.sort((a, b) => compareLsn(a.firstLsn, b.firstLsn));
    return {
      why: `${since} has a gap: ${named.map(describeUnrestorable).join('; ')}`,
      named: true,
    };
  }
  return {
    why:
      `${since} does not reach LSN ${formatLsn(from)}, where a log backup now would start: a log ` +
      'backup hbr has not seen holds log records before it (taken outside hbr and not in the ' +
      'msdb history read: msdb not readable, importHistoryDays 0, a snapshot or virtual-device ' +
      "backup, another replica's, or history purged)",
    named: false,
  };
}

/** The planner's reasons that mean no chain reaches the LSN asked for. */
const UNREACHED: ReadonlySet<string> = new Set([
  'LSN_GAP',
  'TAIL_LOG_NEEDED',
  'NO_FULL_BEFORE_TARGET',
  'NO_BACKUPS',
  'NO_DIFFERENTIAL_BASE',
  'BACKUP_DAMAGED',
]);

function differentialBaseGap(
  sets: readonly BackupSetRecord[],
  unrestorable: readonly BackupSetRecord[],
  state: DatabaseState,
): string | null {
  if (!state.hasDifferentialBase) return null;
  const isBase = (r: BackupSetRecord): boolean =>
    r.type === 'full' &&
    !r.isCopyOnly &&
    ((state.differentialBaseGuid !== null && r.backupSetGuid === state.differentialBaseGuid) ||
      (state.differentialBaseLsn !== null && r.checkpointLsn === state.differentialBaseLsn));
  if (sets.some(isBase)) return null;
  const known = unrestorable.find(isBase);
  if (known) return `the base of a differential now is ${describeUnrestorable(known)}`;
  return (
    `the base of a differential now, the full backup with checkpoint LSN ` +
    `${state.differentialBaseLsn === null ? '?' : formatLsn(state.differentialBaseLsn)}, is neither ` +
    'in the repository nor among the backups msdb shows (a snapshot backup, one taken outside hbr ' +
    'that hbr has not seen, or one older than importHistoryDays)'
  );
}

function hasBase(sets: readonly BackupSetRecord[], diff: BackupSetRecord): boolean {
  try {
    planToDataBackup(sets, diff);
    return true;
  } catch (error) {
    if (error instanceof PlanError) return false;
    throw error;
  }
}

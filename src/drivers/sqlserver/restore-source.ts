/**
 * A restore of a configured SQL Server source from the repository: catalog → plan → (tail-log
 * backup when restoring in place over a reachable database) → the restore script, run over the
 * URL endpoint or staged files → ONLINE, MULTI_USER → post-restore checks. With `dryRun`, nothing
 * runs: the exact T-SQL comes back.
 * @module
 */
import { PlanError, SourceError, StoreError, UsageError } from '../../errors.ts';
import { artifactRepository, type OpenRepository } from '../../repository/index.ts';
import { listLocks, type LockInfo } from '../../repository/locks.ts';
import type { BackupRecord } from '../../repository/types.ts';
import type { BackupSetRecord } from './backup-set.ts';
import { backupSqlServerSource, type SqlServerSourceSettings } from './backup-source.ts';
import { buildCatalog, type CatalogEntry, type SqlServerCatalog } from './catalog.ts';
import { planToDataBackup } from './chain-base.ts';
import { planRestore, planToLog, sameDatabaseName } from './chain.ts';
import { deviceOf, type BackupDevice } from './device.ts';
import { stageForRestore } from './disk-transport.ts';
import type { DatabaseState } from './eligibility.ts';
import { readMsdbHistory, runningBackups, sortHistory } from './foreign-history.ts';
import { readForgottenSets } from './forgotten-sets.ts';
import type { ExecOptions, SqlExecutor } from './executor.ts';
import {
  databaseExists,
  readDatabaseState,
  readFileList,
  readServerInfo,
  runRestoreScript,
  type ServerInfo,
} from './operations.ts';
import type { BackupFileEntry } from './headers.ts';
import type { RestorePlan, RestoreTarget } from './plan.ts';
import { crossedWarnings } from './plan-path.ts';
import {
  runPostRestoreChecks,
  type PostRestoreChecks,
  type PostRestoreResults,
} from './restore-checks.ts';
import { buildRestoreScript, type RestoreStatement } from './tsql-restore.ts';
import { quoteName as quote } from './quote.ts';
import { movesFor, plannedTail, stagedPath, tailDevice, withPlanned } from './restore-layout.ts';
import { unrestorableWarning } from './unrestorable.ts';
import { serveForRestore } from './url-transport.ts';

/** What to restore and how. */
export interface SqlServerRestoreRequest {
  readonly target: RestoreTarget;
  /** Restore exactly to the end of this hbr backup (its chain), instead of `target`. */
  readonly backupId?: string;
  /** Restore under this name (MOVE targets computed for every file). */
  readonly as?: string;
  /** Explicit MOVE targets by logical name. */
  readonly moves?: Readonly<Record<string, string>>;
  readonly replace?: boolean;
  readonly standbyFile?: string;
  readonly dryRun?: boolean;
  /**
   * Back up the tail of the log first when restoring in place over a reachable database (also to a
   * backup id: the tail keeps the changes since the last log backup in the repository). @default true
   */
  readonly tailLog?: boolean;
  readonly checks?: PostRestoreChecks;
}

/** What happened (or, with `dryRun`, would happen). */
export interface SqlServerRestoreResult {
  readonly plan: RestorePlan;
  readonly targetDatabase: string;
  readonly script: readonly RestoreStatement[];
  /** Plan steps taken outside hbr (read from their msdb paths). */
  readonly foreignSteps: number;
  readonly tailLogBackup: BackupRecord | null;
  readonly checks: PostRestoreResults | null;
  readonly warnings: readonly string[];
}

/**
 * Plans and (unless `dryRun`) runs the restore.
 * @throws PlanError (`NO_FULL_BEFORE_TARGET`, `LSN_GAP`, `TAIL_LOG_NEEDED`, …) before anything runs;
 * UsageError when the target exists without `replace`; SourceError from the server.
 */
export async function restoreSqlServerSource(
  exec: SqlExecutor,
  repo: OpenRepository,
  settings: SqlServerSourceSettings,
  request: SqlServerRestoreRequest,
  opts: ExecOptions & {
    onStep?: (index: number, total: number, statement: RestoreStatement) => void;
    /**
     * The repository's locks but the restore's own (`RepositoryLock.others` of its read lock);
     * else they are listed with a probe lock (`listLocks`).
     */
    otherLocks?: () => Promise<LockInfo[]>;
  } = {},
): Promise<SqlServerRestoreResult> {
  const info = await readServerInfo(exec, opts);
  const targetDatabase = request.as ?? settings.database;
  const inPlace = sameDatabaseName(targetDatabase, settings.database);
  const exists = await databaseExists(exec, targetDatabase, opts);
  if (exists && !request.replace) {
    throw new UsageError(
      `[sqlserver:restore] ${targetDatabase}: the database exists; pass --replace to overwrite it${inPlace ? '' : ', or --as another name'}`,
    );
  }
  const warnings: string[] = [];
  // Also before a restore to an older backup id: REPLACE overwrites the database, and whatever was
  // written since the last log backup would be gone for good.
  const tailState =
    inPlace && exists && request.tailLog !== false
      ? await tailLogPossible(exec, settings.database, warnings, opts)
      : null;
  const tail = tailState !== null;

  // msdb now: a DBA's backup since hbr's last one is part of the chain. Then, in this order, as a
  // backup reads them: the other backups of the source running, the manifests, what forget
  // removed. A set of hbr's that msdb shows is then in the manifests, or its backup was still
  // committing it (a warning), or that backup ended without it (lost).
  const history = await readMsdbHistory(exec, settings, info.serverName, { ...opts, warnings });
  const running = runningBackups(
    await _otherLocks(repo, opts.otherLocks, warnings),
    settings.source,
  );
  let backups = await repo.backups(opts.signal);
  // Read after the manifests: a backup forget removes meanwhile is in one or the other.
  const forgotten = await readForgottenSets(repo, settings.source, {
    signal: opts.signal,
    warnings,
  });
  const unrestorable: BackupSetRecord[] = [];
  const live = sortHistory(history, { backups, forgotten, running }, settings, {
    warnings,
    unrestorable,
  });
  let catalog = buildCatalog(backups, settings.source, live, unrestorable);
  // A dry run takes no tail-log backup, so it plans with the one the real run takes first: it
  // shows the plan the real run executes, also for a target after the last log backup.
  const planned =
    tailState && request.dryRun
      ? plannedTail(tailState, catalog.records, request.target, info, tailDevice(settings, info))
      : null;
  if (planned) catalog = withPlanned(catalog, planned);
  // Validate before touching the database; only a target after the last log may wait for the
  // tail-log backup about to be taken. With no plan, every set msdb shows that no restore can
  // read may explain why: the error lists them.
  const notes = [...warnings, ...unrestorable.map(unrestorableWarning)];
  let plan = withWarnings(notes, () => planBeforeTail(catalog, request, settings.source, tail));
  // Only the tail can reach the target: make sure it can before the tail leaves the database RESTORING.
  if (plan === null) refuseAfterNow(request.target, info, settings.database);

  let tailLogBackup: BackupRecord | null = null;
  if (tail && !request.dryRun) {
    await exec.run(singleUser(targetDatabase), opts);
    try {
      tailLogBackup = (
        await backupSqlServerSource(exec, repo, { ...settings, promote: false }, 'log', {
          ...opts,
          tailLog: true,
        })
      ).record;
    } catch (error) {
      await exec.run(`ALTER DATABASE ${quote(targetDatabase)} SET MULTI_USER;`, opts);
      throw error;
    }
    try {
      backups = await repo.backups(opts.signal);
      catalog = buildCatalog(backups, settings.source, live, unrestorable);
      plan = withWarnings(notes, () => planFor(catalog, request, settings.source));
    } catch (error) {
      throw await recoverAfterTail(exec, targetDatabase, tailLogBackup, error, opts);
    }
  }
  if (plan === null) plan = planFor(catalog, request, settings.source);
  // Only the sets the plan crosses (to latest: any after its end too); those before its full, or
  // after the backup or point it stops at, do not matter here.
  const toBackup = request.backupId !== undefined;
  warnings.push(...crossedWarnings(plan, catalog.unrestorable, { toBackup }), ...plan.warnings);
  if (plan.stopAt && info.timeZone === null && plan.steps.at(-1)?.utcOffsetMinutes === null)
    warnings.push(
      `the server's time zone is unknown (SQL Server before 2022) and the log backup holding the target recorded no UTC offset: STOPAT uses the server's offset now (${info.utcOffsetMinutes} min), wrong by the difference if daylight saving time changed since the target`,
    );
  if (planned && plan.steps.includes(planned))
    warnings.push(
      `dry run: the last step restores the tail-log backup the restore takes first (BACKUP LOG … NORECOVERY); its end LSN and time are known only then`,
    );
  const steps = plan.steps.map((record) => catalog.entryOf(record));
  const foreign = steps.filter((s) => s.backupId === null && s.record !== planned);
  const foreignSteps = foreign.length;
  if (foreignSteps > 0)
    warnings.push(
      `${foreignSteps} step(s) were taken outside hbr and are read from the paths msdb recorded: ${foreign
        .map((s) => s.record.files.join(', '))
        .join('; ')}`,
    );
  const needMoves = !inPlace || Object.keys(request.moves ?? {}).length > 0;
  const fileLists = needMoves
    ? await fileListsOf(exec, info, steps, { backups, planned, warnings }, opts)
    : [];
  const moves = movesFor(plan, fileLists, info, targetDatabase, request);

  const build = (
    deviceFor: (path: string, step: BackupSetRecord) => BackupDevice,
  ): RestoreStatement[] => {
    const script = buildRestoreScript(plan, {
      targetDatabase,
      targetExists: exists,
      replace: Boolean(request.replace),
      movesByStep: moves,
      serverUtcOffsetMinutes: info.utcOffsetMinutes,
      serverTimeZone: info.timeZone,
      deviceFor,
      ...(request.standbyFile !== undefined ? { standbyFile: request.standbyFile } : {}),
      // The planned tail-log backup is a step of the plan where it is needed.
      ...(planned ? { tailLogDevice: tailDevice(settings, info), applyTailLog: false } : {}),
    });
    // After a tail-log backup the database is RESTORING: SINGLE_USER already ran.
    return tailLogBackup ? script.filter((s) => s.kind !== 'single-user') : script;
  };
  const execute = async (
    deviceFor: (path: string, step: BackupSetRecord) => BackupDevice,
  ): Promise<RestoreStatement[]> => {
    const script = build(deviceFor);
    if (!request.dryRun) await runRestoreScript(exec, script, opts);
    return script;
  };

  let script: RestoreStatement[] = [];
  const t = settings.transport;
  try {
    if (t.kind === 'url') {
      script = await serveForRestore(repo, steps, t.url, opts.signal, execute);
    } else if (request.dryRun) {
      script = build((path, step) => {
        const id = catalog.entryOf(step).backupId;
        return id === null ? deviceOf(path) : deviceOf(stagedPath(t.staging.serverPath, id, path));
      });
    } else {
      const own = steps.filter(
        (s): s is { backupId: string; record: BackupSetRecord } => s.backupId !== null,
      );
      const staged = await stageForRestore(artifactRepository(repo), own, t.staging, opts);
      try {
        script = await execute(staged.deviceFor);
      } finally {
        await staged.cleanup();
      }
    }
  } catch (error) {
    if (!tailLogBackup || !(error instanceof Error)) throw error;
    // The database is RESTORING now; the tail is safe in the repository and in the next plan.
    throw new SourceError(
      `${error.message} (${targetDatabase} is left RESTORING; its tail-log backup is hbr backup ${tailLogBackup.shortId}: fix the cause and run the restore again with --replace)`,
      { cause: error },
    );
  }
  const checks =
    request.dryRun || request.standbyFile !== undefined
      ? null
      : await runPostRestoreChecks(exec, targetDatabase, request.checks ?? {}, opts);
  return { plan, targetDatabase, script, foreignSteps, tailLogBackup, checks, warnings };
}

/**
 * The plan from the catalog: to `target`, or exactly to the end of one hbr backup (a full alone, a
 * differential on its base full, a log at the end of the chain that reaches it).
 * @throws PlanError when no chain reaches it; UsageError for an unknown backup.
 */
export function planFor(
  catalog: SqlServerCatalog,
  request: Pick<SqlServerRestoreRequest, 'target' | 'backupId'>,
  source: string,
): RestorePlan {
  const options = { unrestorable: catalog.unrestorable };
  if (request.backupId === undefined) return planRestore(catalog.records, request.target, options);
  const wanted = catalog.entries.find((e) => e.backupId === request.backupId);
  if (!wanted)
    throw new UsageError(
      `[sqlserver:restore] backup ${request.backupId} is not a backup of ${source}`,
    );
  if (wanted.record.type !== 'log') return planToDataBackup(catalog.records, wanted.record);
  return planToLog(catalog.records, wanted.record, options);
}

/**
 * Runs `plan`; a PlanError it throws carries the warnings gathered so far (every log backup
 * written to NUL, msdb unread), which often explain the gap the planner reports.
 * @throws PlanError with the warnings appended; other errors unchanged.
 */
export function withWarnings<T>(warnings: readonly string[], plan: () => T): T {
  try {
    return plan();
  } catch (error) {
    if (!(error instanceof PlanError) || warnings.length === 0) throw error;
    const notes = warnings.map((w) => `\n  warning: ${w}`).join('');
    throw new PlanError(error.reason, `${error.message}${notes}`, { cause: error });
  }
}

// --- internal ---

/**
 * The locks of the others using the repository, to tell a backup still committing from a lost
 * one. A store that cannot list them (a credential scoped to other prefixes) is a warning: the
 * restore goes on, and may call such a set lost.
 */
async function _otherLocks(
  repo: OpenRepository,
  given: (() => Promise<LockInfo[]>) | undefined,
  warnings: string[],
): Promise<LockInfo[]> {
  try {
    return await (given ? given() : listLocks(repo.store, repo.keys));
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    warnings.push(
      `the repository's locks could not be listed (${error.message}): a backup of the source still committing is not told from a lost one`,
    );
    return [];
  }
}

/** The plan, or `null` when only a tail-log backup (about to be taken) can reach the target. */
function planBeforeTail(
  catalog: SqlServerCatalog,
  request: SqlServerRestoreRequest,
  source: string,
  tailComing: boolean,
): RestorePlan | null {
  try {
    return planFor(catalog, request, source);
  } catch (error) {
    if (tailComing && error instanceof PlanError && error.reason === 'TAIL_LOG_NEEDED') return null;
    throw error;
  }
}

/**
 * Refuses a time the server has not reached yet (a typo, a local time read as UTC): no tail-log
 * backup can reach it. An LSN cannot be checked this cheaply; {@link recoverAfterTail} covers it.
 */
function refuseAfterNow(target: RestoreTarget, info: ServerInfo, database: string): void {
  if (target.kind !== 'time' || info.now === null || target.at <= info.now) return;
  throw new PlanError(
    'TARGET_AFTER_NOW',
    `[sqlserver:plan] ${database}: the target time ${target.at.toISOString()} is after the server's ` +
      `clock (${info.now.toISOString()}): no backup can reach it; nothing was changed`,
  );
}

/**
 * The error to throw when no plan follows the tail-log backup. The database is RESTORING; RESTORE
 * … WITH RECOVERY brings it back with every change (the tail is in the repository, and the log
 * chain goes on from it), so a failed restore does not leave production down.
 */
async function recoverAfterTail(
  exec: SqlExecutor,
  database: string,
  tail: BackupRecord,
  error: unknown,
  opts: ExecOptions,
): Promise<Error> {
  const why = error instanceof Error ? error.message : String(error);
  try {
    await exec.run(`RESTORE DATABASE ${quote(database)} WITH RECOVERY;`, opts);
    await exec.run(`ALTER DATABASE ${quote(database)} SET MULTI_USER;`, opts);
  } catch (recoverError) {
    return new SourceError(
      `${why} (after the tail-log backup, hbr backup ${tail.shortId}, RESTORE DATABASE ${quote(database)} WITH RECOVERY failed: ` +
        `${(recoverError as Error).message}; ${database} is left RESTORING: run that statement to bring it back)`,
      { cause: error },
    );
  }
  const note =
    ` (after the tail-log backup, hbr backup ${tail.shortId}; hbr ran RESTORE DATABASE ${quote(database)} ` +
    'WITH RECOVERY: it is ONLINE again, with every change, and nothing was restored)';
  return error instanceof PlanError
    ? new PlanError(error.reason, why + note, { cause: error })
    : new SourceError(why + note, { cause: error });
}

/**
 * The file list of each step: as hbr recorded it in the manifest, or read with FILELISTONLY from
 * the path msdb recorded for a set taken outside hbr; `null` when that read fails (a warning says so).
 */
async function fileListsOf(
  exec: SqlExecutor,
  info: ServerInfo,
  steps: readonly CatalogEntry[],
  o: {
    backups: readonly BackupRecord[];
    /** A dry run's planned tail-log backup: not written yet. */
    planned: BackupSetRecord | null;
    warnings: string[];
  },
  opts: ExecOptions,
): Promise<(BackupFileEntry[] | null)[]> {
  const { backups, warnings } = o;
  const lists: (BackupFileEntry[] | null)[] = [];
  for (const { backupId, record } of steps) {
    if (record === o.planned) {
      lists.push(null);
      continue;
    }
    if (backupId !== null) {
      const files = backups.find((b) => b.id === backupId)?.meta.files;
      lists.push(Array.isArray(files) ? (files as BackupFileEntry[]) : null);
      continue;
    }
    try {
      lists.push(await readFileList(exec, info, record.files.map(deviceOf), record.position, opts));
    } catch (error) {
      warnings.push(
        `the file list of ${record.type} ${record.backupSetGuid} (${record.files.join(', ')}) could not be read: ${(error as Error).message}; a file added in it gets no MOVE`,
      );
      lists.push(null);
    }
  }
  return lists;
}

function singleUser(database: string): string {
  return `ALTER DATABASE ${quote(database)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE;`;
}

/** The database's state when a tail-log backup can be taken; else `null`, with a warning. */
async function tailLogPossible(
  exec: SqlExecutor,
  database: string,
  warnings: string[],
  opts: ExecOptions,
): Promise<DatabaseState | null> {
  const state = await readDatabaseState(exec, database, opts);
  if (state.stateDesc !== 'ONLINE') {
    warnings.push(
      `${database} is ${state.stateDesc}: no tail-log backup; changes after the last log backup are lost`,
    );
    return null;
  }
  if (state.recoveryModel === 'SIMPLE' || !state.hasLogChain) {
    warnings.push(
      `${database} has no log chain (${state.recoveryModel} recovery): no tail-log backup`,
    );
    return null;
  }
  return state;
}

/**
 * `hbr restore --source NAME [--at TIME | --lsn N | BACKUP_ID] [--as NEWNAME] [--move L=PATH]...
 * [--replace] [--standby FILE] [--dry-run]` for a `sqlserver:` source: plan from the repository,
 * print the T-SQL (dry run) or run it, then the post-restore checks.
 * @module
 */
import { parseIsoInstant } from '../../drivers/sqlserver/dates.ts';
import { connectSqlServer } from '../../drivers/sqlserver/executor.ts';
import { withProgressFallback } from '../../drivers/sqlserver/progress-fallback.ts';
import { parseLsn } from '../../drivers/sqlserver/lsn.ts';
import { planToJson } from '../../drivers/sqlserver/plan-json.ts';
import type { RestoreTarget } from '../../drivers/sqlserver/plan.ts';
import { restoreSqlServerSource } from '../../drivers/sqlserver/restore-source.ts';
import { UsageError } from '../../errors.ts';
import type { CliContext, GlobalOptions } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { accessRepository, lockForReading, reporterFor } from '../repository-access.ts';
import { resolveSqlServerSource, type SqlServerSourceConfig } from './sqlserver-settings.ts';

/** The restore flags a SQL Server restore reads. */
export interface SqlServerRestoreFlags {
  at?: string;
  lsn?: string;
  as?: string;
  move?: string[];
  replace?: boolean;
  standby?: string;
  dryRun?: boolean;
  tailLog?: boolean;
}

/**
 * Restores a SQL Server source (or prints the T-SQL with `--dry-run`).
 * @throws UsageError for contradictory flags; PlanError when no valid chain reaches the target.
 */
export async function runSqlServerRestore(
  ctx: CliContext,
  globals: GlobalOptions,
  source: SqlServerSourceConfig,
  configFile: string,
  ref: string | undefined,
  flags: SqlServerRestoreFlags,
  setExitCode: (code: number) => void,
): Promise<void> {
  const given = [flags.at, flags.lsn, ref].filter((x) => x !== undefined);
  if (given.length > 1) throw new UsageError('give one of --at, --lsn or a backup id');
  let target: RestoreTarget = { kind: 'latest' };
  try {
    if (flags.at !== undefined) target = { kind: 'time', at: parseIsoInstant(flags.at) };
    if (flags.lsn !== undefined) target = { kind: 'lsn', lsn: parseLsn(flags.lsn) };
  } catch (error) {
    throw new UsageError(`[sqlserver:restore] ${(error as Error).message}`, { cause: error });
  }
  const moves: Record<string, string> = {};
  for (const text of flags.move ?? []) {
    const eq = text.indexOf('=');
    if (eq <= 0) throw new UsageError(`--move takes LOGICAL=PATH, got ${JSON.stringify(text)}`);
    moves[text.slice(0, eq)] = text.slice(eq + 1);
  }
  const { connection, settings, checks } = await resolveSqlServerSource(
    source,
    configFile,
    ctx.env,
  );
  const { repo } = await accessRepository(ctx, globals);
  const backupId =
    ref === undefined || ref === 'latest'
      ? undefined
      : (await repo.findBackup(ref, { source: source.name })).id;
  const reporter = reporterFor(ctx, globals);
  const lock = await lockForReading(repo, reporter, 'restore');
  // Progress from STATS messages, else from polling percent_complete on a second session.
  let exec: Awaited<ReturnType<typeof connectSqlServer>>;
  try {
    exec = withProgressFallback(await connectSqlServer(connection), () =>
      connectSqlServer(connection),
    );
  } catch (error) {
    await lock.release();
    throw error;
  }
  reporter.start(flags.dryRun ? 'plan' : 'restore');
  try {
    const result = await restoreSqlServerSource(
      exec,
      repo,
      settings,
      {
        target: ref === 'latest' ? { kind: 'latest' } : target,
        ...(backupId !== undefined ? { backupId } : {}),
        ...(flags.as !== undefined ? { as: flags.as } : {}),
        moves,
        replace: Boolean(flags.replace),
        ...(flags.standby !== undefined ? { standbyFile: flags.standby } : {}),
        dryRun: Boolean(flags.dryRun),
        tailLog: flags.tailLog !== false,
        checks,
      },
      {
        signal: ctx.signal,
        onStep: (i, n, st) => reporter.info(`step ${i}/${n}: ${st.sql.split('\n')[0] ?? ''}`),
        otherLocks: () => lock.others(),
      },
    );
    for (const warning of result.warnings) reporter.warn(warning);
    const script = result.script.map(({ kind, sql }) => ({ kind, sql }));
    if (flags.dryRun && !globals.json) {
      ctx.stdout.write(script.map((s) => `${s.sql}\nGO\n`).join(''));
      return;
    }
    const c = result.checks;
    reporter.summary(
      {
        dryRun: Boolean(flags.dryRun),
        source: source.name,
        database: result.targetDatabase,
        plan: planToJson(result.plan),
        script,
        tailLogBackup: result.tailLogBackup?.id ?? null,
        foreignSteps: result.foreignSteps,
        checks: c,
        warnings: result.warnings,
      },
      [
        `Restored: ${result.targetDatabase} from ${result.plan.steps.length} backup(s)${result.plan.stopAt ? ` to ${result.plan.stopAt.toISOString()}` : ''}`,
        ...(result.tailLogBackup ? [`Tail log: backup ${result.tailLogBackup.shortId}`] : []),
        ...(c
          ? [
              `CHECKDB:  ${c.checkdb === null ? 'not run' : c.checkdb.ok ? 'clean' : `${c.checkdb.allocationErrors} allocation, ${c.checkdb.consistencyErrors} consistency errors`}`,
              ...c.rowCounts.map(
                (r) => `Rows:     ${r.table}: ${r.rows}${r.ok ? '' : ` (below ${r.min ?? 0})`}`,
              ),
              `CLR:      ${c.clr.assemblies.length} assemblies${c.clr.problems.length ? `; ${c.clr.problems.join('; ')}` : ''}`,
              ...c.smokeQueries.map(
                (q) => `Smoke:    ${q.name}: ${q.ok ? 'ok' : `FAILED: ${q.error ?? ''}`}`,
              ),
              c.ok ? 'All post-restore checks passed' : 'FAILED:   post-restore checks (see above)',
            ]
          : []),
      ],
    );
    if (c && !c.ok) setExitCode(ExitCode.partial);
  } finally {
    reporter.done();
    await lock.release();
    await exec.close();
  }
}

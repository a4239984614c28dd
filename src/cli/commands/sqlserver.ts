import { collect } from '../repeatable.ts';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { planRestore, sameDatabaseName } from '../../drivers/sqlserver/chain.ts';
import { parseIsoInstant } from '../../drivers/sqlserver/dates.ts';
import { parseHistoryJson } from '../../drivers/sqlserver/history.ts';
import { deviceOf } from '../../drivers/sqlserver/device.ts';
import { parseLsn } from '../../drivers/sqlserver/lsn.ts';
import { planToJson, recordToJson } from '../../drivers/sqlserver/plan-json.ts';
import { parseConnectionUrl } from '../../drivers/sqlserver/connection.ts';
import { connectSqlServer } from '../../drivers/sqlserver/executor.ts';
import { msdbHistoryQuery, parseMsdbRows } from '../../drivers/sqlserver/msdb.ts';
import { discardedSetWarning } from '../../drivers/sqlserver/nul-device.ts';
import { crossedWarnings } from '../../drivers/sqlserver/plan-path.ts';
import { formatPlanText } from '../../drivers/sqlserver/plan-text.ts';
import { withWarnings } from '../../drivers/sqlserver/restore-source.ts';
import type { RestoreTarget } from '../../drivers/sqlserver/plan.ts';
import {
  buildRestoreScript,
  describeStopAt,
  type RestoreScriptOptions,
  type RestoreStatement,
  type StopAtBasis,
} from '../../drivers/sqlserver/tsql-restore.ts';
import { NotFoundError, UsageError } from '../../errors.ts';
import { buildCatalog } from '../../drivers/sqlserver/catalog.ts';
import { globalsOf, type CliContext, type GlobalOptions } from '../context.ts';
import { accessRepository } from '../repository-access.ts';
import { sqlServerSourceNamed } from './sqlserver-settings.ts';
import type { RegisterCommand } from './index.ts';

interface PlanFlags {
  history?: string;
  source?: string;
  database?: string;
  at?: string;
  lsn?: string;
  script?: boolean;
  as?: string;
  move: string[];
  replace?: boolean;
  tailLog?: string;
  standby?: string;
  recovery: boolean;
  serverUtcOffset: string;
  serverTimeZone?: string;
}

/**
 * `hbr sqlserver plan --history FILE [--database NAME] [--at TIME | --lsn N] [--json]`: plans a
 * restore offline from a backup-history JSON file (dbatools export shape). `--script` prints the
 * restore T-SQL of the plan instead (a dry run; JSON adds `script: [{kind, sql}]`).
 * With `--json`, a failure is the `exitError` line on stderr every command writes (main.ts); a
 * plan's failure adds its `reason` (`LSN_GAP`, `NO_FULL_BEFORE_TARGET`, …).
 */
export const registerSqlserver: RegisterCommand = (program, ctx) => {
  const sqlserver = program.command('sqlserver').description('SQL Server tools');
  sqlserver
    .command('plan')
    .description('plan a restore chain from a backup-history JSON file (dbatools export shape)')
    .option('--history <file>', 'backup history JSON (Get-DbaBackupHistory export)')
    .option('--source <name>', 'plan from the repository: hbr backups of this sqlserver source')
    .option('--database <name>', 'database to plan for (required when the history has several)')
    .option('--at <time>', 'ISO 8601 point in time; without an offset it is UTC')
    .option('--lsn <lsn>', 'log sequence number to stop at (decimal)')
    .option('--script', 'print the restore T-SQL (a dry run) instead of the table')
    .option('--as <name>', 'with --script: restore under this name (needs --move for every file)')
    .option('--move <logical=path>', 'with --script: MOVE target, repeatable', collect, [])
    .option('--replace', 'with --script: the target database exists and is overwritten')
    .option('--tail-log <path>', 'with --script: back up the tail of the log here first')
    .option('--standby <undo-file>', 'with --script: finish in STANDBY instead of RECOVERY')
    .option('--no-recovery', 'with --script: leave the database RESTORING')
    .option(
      '--server-utc-offset <minutes>',
      'with --script: server clock offset (minutes east of UTC) for STOPAT when the log holding the target recorded none; the script says which it used',
      '0',
    )
    .option(
      '--server-time-zone <id>',
      "with --script: the server's time zone (CURRENT_TIMEZONE_ID(), SQL Server 2022+): STOPAT converted on the server at the target's offset",
    )
    .action(async (flags: PlanFlags) => {
      const json = Boolean(globalsOf(program).json);
      const found = await runPlan(flags, ctx, globalsOf(program));
      const options = flags.script ? scriptOptions(flags) : null;
      const script = options ? buildRestoreScript(found, options) : null;
      const basis = options ? describeStopAt(found, options) : null;
      // An offset nothing recorded is the flag's (0 unless given): the user must know to set it.
      const plan = basis?.assumed
        ? {
            ...found,
            warnings: [
              ...found.warnings,
              `${basis.note}; give --server-utc-offset MINUTES (east of UTC) or --server-time-zone ID (SQL Server 2022 and later)`,
            ],
          }
        : found;
      if (json) {
        const out = script ? { ...planToJson(plan), script } : planToJson(plan);
        ctx.stdout.write(
          `${JSON.stringify(out, (k, v: unknown) => (k === 'step' ? undefined : v))}\n`,
        );
      } else {
        ctx.stdout.write(script ? scriptText(script, plan.warnings, basis) : formatPlanText(plan));
      }
    });
  sqlserver
    .command('history')
    .description('print the backup history of a server (msdb) as JSON that `plan --history` reads')
    .option(
      '--url <url>',
      'mssql://user:password@host:port?trustServerCertificate=true (else HBR_SQLSERVER_URL)',
    )
    .option('--database <name>', 'one database (else all)')
    .option('--days <n>', 'only backups finished in the last n days')
    .action(async (flags: { url?: string; database?: string; days?: string }) => {
      const url = flags.url ?? ctx.env.HBR_SQLSERVER_URL;
      if (!url) throw new UsageError('[sqlserver:history] give --url or set HBR_SQLSERVER_URL');
      const days = flags.days === undefined ? undefined : Number(flags.days);
      if (days !== undefined && !(Number.isInteger(days) && days > 0)) {
        throw new UsageError('[sqlserver:history] --days takes a positive whole number');
      }
      const exec = await connectSqlServer(parseConnectionUrl(url));
      try {
        const query = msdbHistoryQuery({ database: flags.database, days });
        const rows = await exec.query(query, { signal: ctx.signal, timeoutMs: 0 });
        const { records } = parseMsdbRows(rows, parseConnectionUrl(url).server);
        ctx.stdout.write(`${JSON.stringify(records.map(recordToJson), null, 2)}\n`);
      } finally {
        await exec.close();
      }
    });
};

// --- internal ---

async function runPlan(
  flags: PlanFlags,
  ctx: CliContext,
  globals: GlobalOptions,
): Promise<ReturnType<typeof planRestore>> {
  const target = parseTarget(flags);
  if ((flags.history === undefined) === (flags.source === undefined))
    throw new UsageError('[sqlserver:plan] give --history FILE or --source NAME');
  if (flags.source !== undefined) {
    if (flags.script)
      throw new UsageError(
        '[sqlserver:plan] --script with --source: use hbr restore --source NAME --dry-run, which knows where each backup is served from',
      );
    const found = await sqlServerSourceNamed(ctx, globals, flags.source);
    if (!found)
      throw new NotFoundError(
        `[sqlserver:plan] no sqlserver source named "${flags.source}" in the config`,
      );
    const { repo } = await accessRepository(ctx, globals);
    const catalog = buildCatalog(await repo.backups(ctx.signal), flags.source);
    // The sets no restore can read that backups recorded name the gaps they leave, and those the
    // plan crosses are warned of, as a restore does.
    const plan = planRestore(catalog.records, target, {
      database: flags.database ?? found.source.sqlserver.database,
      unrestorable: catalog.unrestorable,
    });
    return {
      ...plan,
      warnings: [...crossedWarnings(plan, catalog.unrestorable), ...plan.warnings],
    };
  }
  const path = resolve(ctx.cwd, flags.history!);
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', signal: ctx.signal });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`[sqlserver:plan] history file ${path} does not exist`, {
        cause: error,
      });
    }
    throw new UsageError(`[sqlserver:plan] cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const { records, discarded } = parseHistoryJson(text, flags.history!);
  // Sets written to NUL are not steps. Where no plan reaches the target, each may explain the gap;
  // a plan is warned only of those it crosses.
  const notes = discarded
    .filter((r) => flags.database === undefined || sameDatabaseName(r.database, flags.database))
    .map(discardedSetWarning);
  const plan = withWarnings(notes, () =>
    planRestore(records, target, { database: flags.database, unrestorable: discarded }),
  );
  return { ...plan, warnings: [...crossedWarnings(plan, discarded), ...plan.warnings] };
}

/** The script as T-SQL, the plan's warnings and the STOPAT conversion first, as comments. */
function scriptText(
  script: readonly RestoreStatement[],
  warnings: readonly string[],
  basis: StopAtBasis | null,
): string {
  const comment = (text: string): string => `-- ${text.replace(/\r?\n/g, '\n-- ')}\n`;
  const notes = warnings.map((w) => comment(`warning: ${w}`));
  if (basis && !basis.assumed) notes.push(comment(basis.note));
  return notes.join('') + script.map((st) => `${st.sql}\nGO\n`).join('');
}

function scriptOptions(flags: PlanFlags): RestoreScriptOptions {
  const offset = Number(flags.serverUtcOffset);
  if (!Number.isInteger(offset) || Math.abs(offset) > 14 * 60) {
    throw new UsageError(
      '[sqlserver:plan] --server-utc-offset takes minutes east of UTC, e.g. 60 or -300',
    );
  }
  const moves = flags.move.map((text) => {
    const eq = text.indexOf('=');
    if (eq <= 0)
      throw new UsageError(
        `[sqlserver:plan] --move takes LOGICAL=PATH, got ${JSON.stringify(text)}`,
      );
    return { logicalName: text.slice(0, eq), physicalName: text.slice(eq + 1) };
  });
  return {
    ...(flags.as !== undefined ? { targetDatabase: flags.as } : {}),
    targetExists: Boolean(flags.replace),
    replace: Boolean(flags.replace),
    moves,
    ...(flags.tailLog !== undefined ? { tailLogDevice: deviceOf(flags.tailLog) } : {}),
    ...(flags.standby !== undefined ? { standbyFile: flags.standby } : {}),
    recover: flags.recovery,
    serverUtcOffsetMinutes: offset,
    ...(flags.serverTimeZone !== undefined ? { serverTimeZone: flags.serverTimeZone } : {}),
  };
}

function parseTarget(flags: PlanFlags): RestoreTarget {
  if (flags.at !== undefined && flags.lsn !== undefined) {
    throw new UsageError('[sqlserver:plan] give --at or --lsn, not both');
  }
  try {
    if (flags.at !== undefined) return { kind: 'time', at: parseIsoInstant(flags.at) };
    if (flags.lsn !== undefined) return { kind: 'lsn', lsn: parseLsn(flags.lsn) };
  } catch (error) {
    throw new UsageError(`[sqlserver:plan] ${(error as Error).message}`, { cause: error });
  }
  return { kind: 'latest' };
}

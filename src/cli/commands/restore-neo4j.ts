/**
 * `hbr restore --source NAME [ID | latest | --at TIME] [--dry-run] [--include-system]
 * [--home DIR [--bolt URL]]` for a `neo4j:` source: pick the backup, print the plan (dry run) or
 * restore it, check counts and the configured Cypher checks, store the result as a
 * `restore-check` note. `--home` restores into a scratch Neo4j installation (a drill) and leaves
 * the live one alone.
 * @module
 */
import path from 'node:path';
import { neo4jMeta } from '../../drivers/neo4j/backup.ts';
import type { GraphFacts } from '../../drivers/neo4j/facts.ts';
import { describeNeo4jRestore, restoreNeo4jSource } from '../../drivers/neo4j/restore-source.ts';
import { resolveNeo4jSource } from '../../drivers/neo4j/source-config.ts';
import { NotFoundError, UsageError } from '../../errors.ts';
import {
  addNote,
  artifactRepository,
  type BackupRecord,
  type OpenRepository,
} from '../../repository/index.ts';
import type { CliContext, GlobalOptions } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { accessRepository, lockForReading, reporterFor } from '../repository-access.ts';
import { formatDuration } from '../reporter.ts';
import { requireConfig, resolveConfigFile } from '../resolve.ts';
import type { Neo4jSourceConfig } from './backup-neo4j.ts';
import { compareText } from '../../util/compare-text.ts';

/** The restore flags a Neo4j restore reads, and those of other restores it refuses. */
export interface Neo4jRestoreFlags {
  at?: string;
  dryRun?: boolean;
  includeSystem?: boolean;
  home?: string;
  bolt?: string;
  // Flags of files and SQL Server restores: refused (see refusedFlags).
  target?: string;
  include?: readonly string[];
  overwrite?: boolean;
  lsn?: string;
  as?: string;
  move?: readonly string[];
  replace?: boolean;
  standby?: string;
  tailLog?: boolean;
}

/**
 * Restores a Neo4j source (or prints the plan with `--dry-run`).
 * @throws UsageError for contradictory flags or a bad time; NotFoundError when no backup
 *   matches; IntegrityError when the backup is damaged (refused before anything is stopped).
 */
export async function runNeo4jRestore(
  ctx: CliContext,
  globals: GlobalOptions,
  source: Neo4jSourceConfig,
  configFile: string,
  ref: string | undefined,
  flags: Neo4jRestoreFlags,
  setExitCode: (code: number) => void,
): Promise<void> {
  // Before anything else: taken silently, `--as copy` restored over the live database.
  const refused = refusedFlags(flags);
  if (refused.length > 0) {
    throw new UsageError(
      `${refused.join(', ')}: not supported by a Neo4j restore, which replaces the source's own database (use --home DIR to restore into a scratch installation instead)`,
    );
  }
  if (ref !== undefined && flags.at !== undefined)
    throw new UsageError('give a backup id or --at TIME, not both');
  if (flags.bolt !== undefined && flags.home === undefined)
    throw new UsageError('--bolt names the scratch server of --home DIR');
  const neo = await resolveNeo4jSource(source.name, source.neo4j, configFile, ctx.env, {
    ...(flags.home !== undefined ? { scratchHome: path.resolve(ctx.cwd, flags.home) } : {}),
    ...(flags.bolt !== undefined ? { scratchBolt: flags.bolt } : {}),
  });
  const { repo } = await accessRepository(ctx, globals);
  const backup = await pickBackup(repo, source.name, ref, flags.at);
  const includeSystem = flags.includeSystem === true;
  const drill = flags.home !== undefined;
  const reporter = reporterFor(ctx, globals);
  if (flags.dryRun) {
    const { databases, steps } = describeNeo4jRestore(neo, backup, includeSystem);
    reporter.summary(
      {
        dryRun: true,
        source: source.name,
        backupId: backup.id,
        shortId: backup.shortId,
        finishedAt: backup.finishedAt,
        mode: neo4jMeta(backup).mode,
        home: neo.home,
        drill,
        databases,
        steps,
      },
      [
        `Would restore backup ${backup.shortId} (${neo4jMeta(backup).mode}, finished ${backup.finishedAt}) into ${neo.home}${drill ? ' (drill)' : ''}:`,
        ...steps.map((s, i) => `  ${i + 1}. ${s}`),
        'Nothing was changed (dry run).',
      ],
    );
    return;
  }
  const lock = await lockForReading(repo, reporter, 'restore');
  reporter.start('restore');
  try {
    const result = await restoreNeo4jSource(artifactRepository(repo), neo, backup, {
      includeSystem,
      drill,
      signal: ctx.signal,
    });
    await addNote(repo, backup.id, 'restore-check', { source: source.name, ...result });
    reporter.summary({ source: source.name, shortId: backup.shortId, ...result }, [
      `Restored: backup ${backup.shortId} (${result.databases.join(', ')}) into ${result.home}${drill ? ' (drill)' : ''} in ${formatDuration(result.durationMs)}`,
      ...(result.countsOk
        ? countLines(result.facts, result.countsNotCompared)
        : [`FAILED:   counts differ from the backup: ${result.countsError ?? ''}`]),
      ...result.checks.map(
        (c) =>
          `Check:    ${c.name}: ${c.ok ? `ok (${JSON.stringify(c.value)})` : `FAILED: ${c.error ?? ''}`}`,
      ),
      result.ok ? 'All post-restore checks passed' : 'FAILED:   post-restore checks (see above)',
    ]);
    if (!result.ok) setExitCode(ExitCode.integrity);
  } finally {
    reporter.done();
    await lock.release();
  }
}

/**
 * The `neo4j:` source called `name` from the config, or `undefined` when there is no config file
 * or the source is missing or of another kind.
 * @throws ConfigError when the config file is invalid.
 */
export async function neo4jSourceNamed(
  ctx: CliContext,
  globals: GlobalOptions,
  name: string,
): Promise<{ source: Neo4jSourceConfig; file: string } | undefined> {
  const inputs = { env: ctx.env, cwd: ctx.cwd, flag: globals.config };
  if (!(await resolveConfigFile(inputs))) return undefined;
  const { config, file } = await requireConfig(inputs);
  const found = config.sources?.find((s) => s.name === name);
  return found?.kind === 'neo4j' ? { source: found, file } : undefined;
}

// --- internal ---

/** The counts of the restored databases, and whether they were compared with the backup's. */
function countLines(
  facts: Readonly<Record<string, GraphFacts>>,
  notCompared: readonly string[],
): string[] {
  const counts = (list: GraphFacts[]) =>
    list.map((f) => `${f.database}: ${f.nodes} nodes, ${f.relationships} relationships`).join('; ');
  const all = Object.values(facts);
  const compared = all.filter((f) => !notCompared.includes(f.database));
  const moved = all.filter((f) => notCompared.includes(f.database));
  return [
    ...(compared.length > 0 ? [`Counts:   ${counts(compared)} — equal to the backup`] : []),
    ...(moved.length > 0
      ? [
          `Counts:   ${counts(moved)} — not compared (the graph changed while the backup ran, so its recorded counts are not the backup's)`,
        ]
      : []),
  ];
}

/** The flags given that belong to other restores (files, SQL Server). */
function refusedFlags(flags: Neo4jRestoreFlags): string[] {
  return Object.entries({
    '--target': flags.target !== undefined,
    '--include': (flags.include?.length ?? 0) > 0,
    '--overwrite': flags.overwrite === true,
    '--lsn': flags.lsn !== undefined,
    '--as': flags.as !== undefined,
    '--move': (flags.move?.length ?? 0) > 0,
    '--replace': flags.replace === true,
    '--standby': flags.standby !== undefined,
    '--no-tail-log': flags.tailLog === false,
  })
    .filter(([, given]) => given)
    .map(([name]) => name);
}

async function pickBackup(
  repo: OpenRepository,
  source: string,
  ref: string | undefined,
  at: string | undefined,
): Promise<BackupRecord> {
  if (ref !== undefined && ref !== 'latest') return repo.findBackup(ref, { source });
  const all = (await repo.backups()).filter((b) => b.source === source && b.kind === 'neo4j');
  let candidates = all;
  if (at !== undefined) {
    const limit = Date.parse(at);
    if (Number.isNaN(limit))
      throw new UsageError(`--at takes an ISO 8601 time, e.g. 2026-11-22T04:00:00Z, not "${at}"`);
    candidates = all.filter((b) => Date.parse(b.finishedAt) <= limit);
  }
  const found = candidates.sort((a, b) => compareText(a.finishedAt, b.finishedAt)).at(-1);
  if (!found) {
    throw new NotFoundError(
      `no Neo4j backup of source ${source}${at !== undefined ? ` finished at or before ${at}` : ''}`,
    );
  }
  return found;
}

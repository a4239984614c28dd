/**
 * `hbr backup --source NAME` for a `neo4j:` source: an offline dump (stop, dump each database
 * and `system`, start) or an online logical export, as the source's `mode` says; prints downtime,
 * sizes and the counts recorded with the backup, then replicates like every backup.
 * @module
 */
import type { SourceConfig } from '../../config/index.ts';
import { backupNeo4j, neo4jMeta } from '../../drivers/neo4j/backup.ts';
import { exportWarning } from '../../drivers/neo4j/export-consistency.ts';
import { resolveNeo4jSource } from '../../drivers/neo4j/source-config.ts';
import { UsageError } from '../../errors.ts';
import { artifactRepository } from '../../repository/index.ts';
import type { CliContext, GlobalOptions } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import {
  accessRepository,
  reporterFor,
  warnLockLeft,
  type RepositoryAccess,
} from '../repository-access.ts';
import { formatBytes, formatDuration } from '../reporter.ts';
import { replicateAfterBackup } from './replicate.ts';
import { tracePhase } from '../../util/trace.ts';

/** A `neo4j:` source of the config. */
export type Neo4jSourceConfig = Extract<SourceConfig, { kind: 'neo4j' }>;

/**
 * Runs one backup of a Neo4j source.
 * @throws SourceError (unclean store, version mismatch, wrong password, server that will not
 *   stop), ConfigError (credential file), StoreError from below.
 */
export async function runNeo4jBackup(
  ctx: CliContext,
  globals: GlobalOptions,
  source: Neo4jSourceConfig,
  configFile: string,
  flags: { type?: string; tag?: string[] },
  setExitCode: (code: number) => void,
  opening?: Promise<RepositoryAccess>,
): Promise<void> {
  tracePhase('command loaded');
  const neo = await resolveNeo4jSource(source.name, source.neo4j, configFile, ctx.env);
  // Only enterprise sources have differentials (neo4j-admin backup chains); --type overrides
  // the source's `enterprise.type`.
  const allowed = neo.enterprise !== undefined ? ['full', 'diff'] : ['full'];
  if (flags.type !== undefined && !allowed.includes(flags.type)) {
    throw new UsageError(
      neo.enterprise !== undefined
        ? `an enterprise Neo4j source takes --type full or diff, not --type ${flags.type}`
        : `a Neo4j source in ${neo.mode} mode takes only full backups, not --type ${flags.type}`,
    );
  }
  const enterprise =
    neo.enterprise !== undefined && flags.type !== undefined
      ? { ...neo.enterprise, type: flags.type as 'full' | 'diff' }
      : neo.enterprise;
  // Opened beside the Bolt reads of the backup (which waits for it before the stop).
  const accessing = opening ?? accessRepository(ctx, globals);
  accessing.then(() => tracePhase('repository opened')).catch(() => undefined); // awaited by backupNeo4j, and below
  const reporter = reporterFor(ctx, globals);
  reporter.start('backup');
  try {
    if (neo.mode === 'dump')
      reporter.info(`stopping Neo4j (${neo.commands.stop}) for an offline dump`);
    const record = await backupNeo4j({
      repo: accessing.then((a) =>
        artifactRepository(a.repo, { onLockLeft: warnLockLeft(reporter) }),
      ),
      source: source.name,
      mode: neo.mode,
      server: neo.server,
      admin: neo.admin,
      bolt: neo.bolt,
      databases: neo.databases,
      ...(enterprise !== undefined ? { enterprise } : {}),
      ...(neo.spoolDir !== undefined ? { spoolDir: neo.spoolDir } : {}),
      tags: flags.tag ?? [],
      signal: ctx.signal,
    });
    const access = await accessing;
    const meta = neo4jMeta(record);
    const replicas = await replicateAfterBackup(ctx, access, reporter, globals.config);
    for (const r of replicas.filter((x) => !x.ok))
      reporter.warn(`replication to ${r.replica} failed: ${r.error ?? ''}`, {
        replica: r.replica,
      });
    const facts = Object.values(meta.facts);
    // Saved, but writes ran during a logical export: said before the summary, and exit 3.
    const warnings = Object.entries(meta.databases).flatMap(([db, r]) => {
      const warning = exportWarning(db, r);
      return warning !== undefined ? [warning] : [];
    });
    for (const w of warnings) reporter.warn(w, { backupId: record.id });
    reporter.summary(
      {
        backupId: record.id,
        shortId: record.shortId,
        source: record.source,
        mode: meta.mode,
        type: record.type,
        version: meta.version,
        edition: meta.edition,
        downtimeMs: meta.downtimeMs ?? null,
        databases: Object.keys(meta.databases),
        facts: meta.facts,
        bytes: record.summary.bytes,
        addedBytes: record.summary.addedBytes,
        durationMs: record.summary.durationMs,
        replicas,
        warnings,
      },
      [
        `Backup:   ${meta.mode}${meta.mode === 'enterprise' ? ` ${record.type}` : ''} of ${Object.keys(meta.databases).join(', ')} (Neo4j ${meta.version} ${meta.edition})`,
        meta.mode === 'enterprise'
          ? 'Downtime: none (online neo4j-admin database backup)'
          : meta.downtimeMs === undefined
            ? 'Downtime: none (online export; read-committed, not a snapshot while writers run)'
            : `Downtime: ${formatDuration(meta.downtimeMs)}`,
        ...facts.map(
          (f) =>
            `Graph:    ${f.database}: ${f.nodes} nodes, ${f.relationships} relationships` +
            (f.lastCommittedTxId ? `, last tx ${f.lastCommittedTxId}` : ''),
        ),
        `Stored:   ${formatBytes(record.summary.bytes)}, added ${formatBytes(record.summary.addedBytes)} to the repository in ${formatDuration(record.summary.durationMs)}`,
        ...replicas.map((r) =>
          r.ok
            ? `Replica:  ${r.replica}: copied ${r.copiedObjects ?? 0} objects (${formatBytes(r.copiedBytes ?? 0)})`
            : `Warning:  replication to ${r.replica} failed (the backup is saved; run \`hbr replicate --to ${r.replica}\`)`,
        ),
        ...warnings.map((w) => `Warning:  ${w}`),
        `backup ${record.shortId} saved`,
      ],
    );
    if (replicas.some((r) => !r.ok) || warnings.length > 0) setExitCode(ExitCode.partial);
    tracePhase('summary written');
  } finally {
    reporter.done();
  }
}

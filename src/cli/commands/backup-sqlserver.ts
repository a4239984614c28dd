/**
 * `hbr backup --source NAME [--type full|diff|log]` for a `sqlserver:` source: connect, take the
 * backup over the configured transport, record its header facts, print the summary.
 * @module
 */
import type { BackupSetType } from '../../drivers/sqlserver/backup-set.ts';
import { backupSqlServerSource } from '../../drivers/sqlserver/backup-source.ts';
import { connectSqlServer } from '../../drivers/sqlserver/executor.ts';
import { withProgressFallback } from '../../drivers/sqlserver/progress-fallback.ts';
import { UsageError } from '../../errors.ts';
import type { CliContext, GlobalOptions } from '../context.ts';
import { accessRepository, reporterFor } from '../repository-access.ts';
import { formatBytes, formatDuration } from '../reporter.ts';
import { replicateAfterBackup } from './replicate.ts';
import { resolveSqlServerSource, type SqlServerSourceConfig } from './sqlserver-settings.ts';

const TYPES = ['full', 'diff', 'log'] as const;

/**
 * Runs one backup of a SQL Server source.
 * @throws UsageError for an unknown `--type`; SourceError, ConfigError, StoreError from below.
 */
export async function runSqlServerBackup(
  ctx: CliContext,
  globals: GlobalOptions,
  source: SqlServerSourceConfig,
  configFile: string,
  flags: { type?: string; tag?: string[]; cache?: boolean },
): Promise<void> {
  const type = (flags.type ?? 'full') as BackupSetType;
  if (!TYPES.includes(type))
    throw new UsageError(`--type takes full, diff or log, not "${flags.type ?? ''}"`);
  const { connection, settings } = await resolveSqlServerSource(source, configFile, ctx.env);
  const access = await accessRepository(ctx, globals, { objectCache: flags.cache });
  const reporter = reporterFor(ctx, globals);
  // Progress from STATS messages, else from polling percent_complete on a second session.
  const exec = withProgressFallback(await connectSqlServer(connection), () =>
    connectSqlServer(connection),
  );
  reporter.start('backup');
  try {
    const result = await backupSqlServerSource(exec, access.repo, settings, type, {
      signal: ctx.signal,
      tags: flags.tag ?? [],
      onProgress: (percent) =>
        reporter.progress({ files: 0, bytes: 0, currentPath: `${percent}%` }),
    });
    for (const warning of result.warnings) reporter.warn(warning);
    const replicas = await replicateAfterBackup(ctx, access, reporter, globals.config);
    const r = result.record;
    const set = r.meta.set as Record<string, unknown>;
    reporter.summary(
      {
        backupId: r.id,
        shortId: r.shortId,
        source: r.source,
        database: settings.database,
        requestedType: result.requestedType,
        type: result.type,
        promotedBecause: result.promotedBecause,
        firstLsn: set.FirstLSN,
        lastLsn: set.LastLSN,
        backupSetGuid: set.BackupSetGUID,
        verified: r.meta.verified,
        transport: settings.transport.kind,
        bytes: r.summary.bytes,
        addedBytes: r.summary.addedBytes,
        durationMs: r.summary.durationMs,
        foreignImported: result.foreign,
        warnings: result.warnings,
        replicas,
      },
      [
        `Backup:   ${result.type} of ${settings.database}${result.type === result.requestedType ? '' : ` (asked: ${result.requestedType})`}, LSN ${String(set.FirstLSN)} → ${String(set.LastLSN)}`,
        `Verified: ${r.meta.verified === true ? `RESTORE VERIFYONLY${r.meta.hasBackupChecksums === true ? ' WITH CHECKSUM' : ''} passed` : 'not run'}`,
        `Stored:   ${formatBytes(r.summary.bytes)}, added ${formatBytes(r.summary.addedBytes)} to the repository in ${formatDuration(r.summary.durationMs)}`,
        ...(result.foreign > 0
          ? [`msdb:     ${result.foreign} backup set(s) taken outside hbr recorded for planning`]
          : []),
        `backup ${r.shortId} saved`,
      ],
    );
  } finally {
    reporter.done();
    await exec.close();
  }
}

import { collect } from '../repeatable.ts';
import { resolve } from 'node:path';
import { restoreFiles } from '../../drivers/files/index.ts';
import { NotInBackupError, UsageError } from '../../errors.ts';
import {
  incompleteOf,
  incompleteWarning,
  latestFilter,
  PATH_HELP,
  pathInBackup,
  SOURCE_HELP,
  withBackupNamed,
} from '../backup-ref.ts';
import { globalsOf } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { startCodecWorkers } from '../../repository/index.ts';
import { accessRepository, lockForReading, reporterFor } from '../repository-access.ts';
import { formatBytes, formatDuration } from '../reporter.ts';
import { sampleText, type CodedSample, type Sample } from '../../util/sample.ts';
import { tracePhase } from '../../util/trace.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr restore ID|latest --target DIR [--include PATH]`. */
export const registerRestore: RegisterCommand = (program, ctx, setExitCode) => {
  program
    .command('restore')
    .description(
      'restore a files backup into a folder, a SQL Server source (--source NAME) to a point in time, or a Neo4j source',
    )
    .argument('[backup]', 'backup id, unique prefix, or "latest"')
    .option('-t, --target <dir>', 'folder to restore into (files backups)')
    .option(
      '-i, --include <path>',
      'restore only this path of the backup (as hbr ls shows it; a relative one from the current folder); repeatable',
      collect,
      [] as string[],
    )
    .option('-s, --source <name>', SOURCE_HELP)
    .option('--path <path>', `files: ${PATH_HELP}`, collect, [] as string[])
    .option('--overwrite', 'replace files that already exist in the target')
    .option(
      '--at <time>',
      'SQL Server: ISO 8601 point in time (UTC without an offset); Neo4j: the latest backup finished by then',
    )
    .option('--lsn <lsn>', 'SQL Server: log sequence number to stop at')
    .option('--as <name>', 'SQL Server: restore under this database name (MOVE computed)')
    .option('--move <logical=path>', 'SQL Server: MOVE target, repeatable', collect, [] as string[])
    .option('--replace', 'SQL Server: overwrite the existing database')
    .option('--standby <undo-file>', 'SQL Server: finish in STANDBY instead of RECOVERY')
    .option('--no-tail-log', 'SQL Server: no tail-log backup before an in-place restore')
    .option('--dry-run', 'SQL Server: print the T-SQL, run nothing; Neo4j: print the steps')
    .option('--include-system', 'Neo4j: also load the system database (users, roles)')
    .option('--home <dir>', 'Neo4j: restore into this scratch NEO4J_HOME (a drill)')
    .option('--bolt <url>', 'Neo4j: Bolt URL of the --home server (default: from its neo4j.conf)')
    .action(async (ref: string | undefined, flags, command) => {
      const globals = globalsOf(command);
      if (flags.source) {
        // The database drivers load only for their own sources (neo4j-driver alone adds about
        // 15 MB to the memory of a files restore, and its start).
        const { neo4jSourceNamed, runNeo4jRestore } = await import('./restore-neo4j.ts');
        const neo = await neo4jSourceNamed(ctx, globals, flags.source);
        const databaseSource = `--path is for files backups; ${flags.source} is a database source`;
        if (neo) {
          if (flags.path.length > 0) throw new UsageError(databaseSource);
          await runNeo4jRestore(ctx, globals, neo.source, neo.file, ref, flags, setExitCode);
          return;
        }
        const { sqlServerSourceNamed } = await import('./sqlserver-settings.ts');
        const sql = await sqlServerSourceNamed(ctx, globals, flags.source);
        if (sql) {
          if (flags.path.length > 0) throw new UsageError(databaseSource);
          const { runSqlServerRestore } = await import('./restore-sqlserver.ts');
          await runSqlServerRestore(ctx, globals, sql.source, sql.file, ref, flags, setExitCode);
          return;
        }
      }
      if (ref === undefined) throw new UsageError('give a backup id, unique prefix, or "latest"');
      if (flags.target === undefined) throw new UsageError('give --target DIR to restore into');
      // "" would resolve to the current folder (an unset variable in a script): refused.
      if (flags.target === '')
        throw new UsageError(
          '--target "": an empty target is refused (an unset variable?); give the folder ("." for the current one)',
        );
      // Taken silently, a --dry-run would restore and --at would restore the wrong backup.
      const databaseOnly = Object.entries({
        '--at': flags.at,
        '--lsn': flags.lsn,
        '--as': flags.as,
        '--move': flags.move.length > 0 || undefined,
        '--replace': flags.replace,
        '--standby': flags.standby,
        '--no-tail-log': flags.tailLog === false || undefined,
        '--dry-run': flags.dryRun,
        '--include-system': flags.includeSystem,
        '--home': flags.home,
        '--bolt': flags.bolt,
      })
        .filter(([, value]) => value !== undefined)
        .map(([name]) => name);
      if (databaseOnly.length > 0)
        throw new UsageError(
          `${databaseOnly.join(', ')}: only for SQL Server and Neo4j restores (--source NAME of one in the config); a files restore takes --target, --include and --overwrite`,
        );
      const include = (flags.include ?? []).map((p) => pathInBackup(p, ctx.cwd, '--include'));
      tracePhase('command started');
      // The codec workers load (about a tenth of a second of a core each) while the repository
      // key is derived on the thread pool. Heaps keep V8's sizing for speed: a restore holds a
      // window of files, not the backup (see docs/architecture.md, "Heaps sized for memory").
      const { repo } = await accessRepository(ctx, globals, { onDeriveKey: startCodecWorkers });
      tracePhase('repository opened');
      const backup = await repo.findBackup(ref, await latestFilter(flags, ctx.cwd));
      if (backup.kind !== 'files') {
        throw new UsageError(
          `backup ${backup.shortId} is a ${backup.kind} backup; restore it with its driver (hbr restore --source ${backup.source})`,
        );
      }
      const reporter = reporterFor(ctx, globals);
      const lock = await lockForReading(repo, reporter, 'restore');
      const started = Date.now();
      reporter.start('restore');
      // Said before anything is written: what the backup lacks, the restore cannot bring back.
      const incomplete = incompleteWarning(backup);
      if (incomplete) reporter.warn(incomplete, { backupId: backup.id, ...incompleteOf(backup) });
      try {
        const result = await restoreFiles({
          repo,
          backup,
          target: resolve(ctx.cwd, flags.target),
          include,
          overwrite: Boolean(flags.overwrite),
          signal: ctx.signal,
          onProgress: (p) =>
            reporter.progress({
              files: p.files,
              bytes: p.bytes,
              totalFiles: p.totalFiles,
              totalBytes: p.totalBytes,
            }),
        }).catch((error: unknown) => {
          // An include not in the backup: say which backup `latest` was, and how to pick another.
          throw error instanceof NotInBackupError
            ? withBackupNamed(error, backup, ref, error.paths)
            : error;
        });
        for (const e of result.errors) reporter.fileError(e.path, new Error(e.message));
        // Restored, data intact, on a file system or in a user namespace that cannot hold those
        // owners (util/owner-refusal.ts): a warning, not a failure; the user cannot do better here.
        // These are said once, here (stderr, and a JSON warning line), not again in the
        // summary printed right after them.
        const notSet = _codedWarning(
          result.ownersNotSet,
          'owner(s) could not be set',
          'setuid/setgid bits left out',
        );
        if (notSet) reporter.warn(notSet, { ownersNotSet: result.ownersNotSet });
        const leftovers = _leftoversWarning(result.leftoverTemps);
        if (leftovers) reporter.warn(leftovers, { leftoverTemps: result.leftoverTemps });
        // Restored whole all the same, as copies: what the target's file system cannot hold.
        const notLinked = _codedWarning(
          result.linksNotMade,
          'hard link(s) could not be made',
          'restored as copies',
        );
        if (notLinked) reporter.warn(notLinked, { linksNotMade: result.linksNotMade });
        const durationMs = Date.now() - started;
        reporter.summary(
          {
            backupId: backup.id,
            shortId: backup.shortId,
            files: result.files,
            dirs: result.dirs,
            bytes: result.bytes,
            errors: result.errors,
            setidNotRestored: result.setidNotRestored,
            leftoverTemps: result.leftoverTemps,
            ownersNotSet: result.ownersNotSet,
            hardLinks: result.hardLinks,
            linksNotMade: result.linksNotMade,
            durationMs,
            incomplete: incompleteOf(backup) ?? null,
          },
          [
            `Restored: ${result.files} files, ${result.dirs} folders, ${formatBytes(result.bytes)} in ${formatDuration(durationMs)} (every file verified)`,
            ...(result.hardLinks > 0
              ? [`Linked:   ${result.hardLinks} file(s) as hard links, as they were backed up`]
              : []),
            ...(incomplete ? [`Warning:  ${incomplete}`] : []),
            // Only root gives files their owners; a setuid program left to its restorer is not restored.
            ...(result.setidNotRestored > 0
              ? [
                  `${result.setidNotRestored} setuid/setgid bits not restored: ownership not restored`,
                ]
              : []),
            ...(result.errors.length > 0
              ? [
                  `FAILED:   ${result.errors.length} file(s) could not be restored:`,
                  ...result.errors.map((e) => `  ${e.path}: ${e.message}`),
                ]
              : []),
          ],
        );
        if (result.errors.length > 0) setExitCode(ExitCode.partial);
      } finally {
        reporter.done();
        await lock.release();
      }
    });
};

// --- internal ---

/**
 * One warning for the entries of `sample` (how many `what`, the reasons, the first few, and what
 * that means), or undefined when there are none: owners that could not be set, hard links that
 * could not be made.
 */
function _codedWarning(
  sample: Readonly<CodedSample>,
  what: string,
  meaning: string,
): string | undefined {
  if (sample.count === 0) return undefined;
  return `${sample.count} ${what} (${sample.codes.join(', ')}): ${sampleText(sample)}; ${meaning}`;
}

/** What interrupted restores left in the folders restored into, or undefined when nothing. */
function _leftoversWarning(left: Readonly<Sample>): string | undefined {
  if (left.count === 0) return undefined;
  // Never removed here: a restore on another host or in another pid namespace may still be
  // writing one (temp-names.ts).
  return `${left.count} temporary file(s) of an interrupted restore found (${sampleText(left)}); remove them once no restore into this target is running`;
}

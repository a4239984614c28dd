import { printable } from '../../util/printable.ts';
import { collect } from '../repeatable.ts';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { requireConfig } from '../resolve.ts';
import { backupFiles, RECORDED_FIELDS } from '../../drivers/files/index.ts';
import { excludesAsRecorded, recordedPaths } from '../../drivers/files/real-paths.ts';
import { scanFiles, type ScanTotals } from '../../drivers/files/scan.ts';
import { FolderMemo, folderMemoFile } from '../../drivers/files/folder-memo.ts';
import { SeenFolders } from '../../drivers/files/seen-folders.ts';
import { NotFoundError, UsageError } from '../../errors.ts';
import { startCodecWorkers, startSession, type BackupRecord } from '../../repository/index.ts';
import { AD_HOC_SOURCE } from '../../policy/backup-groups.ts';
import { cacheDirOf } from '../cache-dir.ts';
import { globalsOf } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { accessRepository, reporterFor, warnLockLeft } from '../repository-access.ts';
import { formatBytes, formatDuration } from '../reporter.ts';
import { tracePhase } from '../../util/trace.ts';
import type { RegisterCommand } from './index.ts';
import { replicateAfterBackup } from './replicate.ts';

/** `hbr backup PATH...` or `hbr backup --source NAME`. */
export const registerBackup: RegisterCommand = (program, ctx, setExitCode) => {
  program
    .command('backup')
    .description('back up paths, or a source named in the config')
    .argument('[paths...]', 'files or folders to back up')
    .option('-s, --source <name>', 'a source from the config file')
    .option(
      '-e, --exclude <glob>',
      'leave out matching paths (a name pattern, or an absolute-path pattern); repeatable',
      collect,
      [] as string[],
    )
    .option('--tag <tag>', 'a tag to record with the backup; repeatable', collect, [] as string[])
    .option('--type <type>', 'database sources: full, diff or log (default full)')
    .option(
      '--host <name>',
      "files: the host to record the backup as from and take its parent from (default HBR_HOST, else this machine's hostname): for a container whose hostname changes with every run",
    )
    .option(
      '--ignore-ctime',
      'files: take a file as unchanged by size, mtime and inode alone (for trees whose ctimes move with no change of content, e.g. a chown -R run each time)',
    )
    .option(
      '--reread',
      'files: read every file again, as if there were no parent backup (no unchanged-file shortcut, no folder memo); data already in the index is still not stored twice. Not needed after `hbr repair`: every backup stores again what the index lacks',
    )
    .option(
      '--no-cache',
      "neither use nor update the local caches: the memo of unchanged folders (files; same backup, slower), the copies of a remote repository's index and manifests",
    )
    .action(async (paths: string[], flags, command) => {
      const globals = globalsOf(command);
      let source = AD_HOC_SOURCE;
      // "" would resolve to the current folder: an unset variable (`hbr backup "$DIR"` in cron)
      // must not back up wherever the script happens to run.
      if (paths.includes(''))
        throw new UsageError(
          'an empty path ("") is refused: an unset variable? Give the folder ("." for the current one)',
        );
      let targets = paths.map((p) => resolve(ctx.cwd, p));
      let exclude = flags.exclude ?? [];
      if (flags.source) {
        if (paths.length > 0) throw new UsageError('give paths or --source, not both');
        const { config, file } = await requireConfig({
          env: ctx.env,
          cwd: ctx.cwd,
          flag: globals.config,
        });
        const found = config.sources?.find((s) => s.name === flags.source);
        if (!found) throw new NotFoundError(`no source named "${flags.source}" in ${file}`);
        const filesOnly =
          [
            flags.host !== undefined ? '--host' : '',
            flags.ignoreCtime ? '--ignore-ctime' : '',
            flags.reread ? '--reread' : '',
          ].find(Boolean) ?? '';
        if (found.kind !== 'files' && filesOnly) {
          throw new UsageError(
            `${filesOnly} is for files backups; ${found.name} is a ${found.kind} source`,
          );
        }
        // The database drivers load only for their own sources: a files backup starts faster.
        if (found.kind === 'sqlserver') {
          const { runSqlServerBackup } = await import('./backup-sqlserver.ts');
          await runSqlServerBackup(ctx, globals, found, file, flags);
          return;
        }
        if (found.kind === 'neo4j') {
          // The repository opens (key derivation runs on the thread pool) while the driver's
          // modules load (neo4j-driver alone takes a few hundred milliseconds).
          const accessing = accessRepository(ctx, globals, { objectCache: flags.cache });
          accessing.catch(() => undefined); // awaited by runNeo4jBackup
          const { runNeo4jBackup } = await import('./backup-neo4j.ts');
          await runNeo4jBackup(ctx, globals, found, file, flags, setExitCode, accessing);
          return;
        }
        if (!('files' in found) || !found.files) {
          throw new UsageError(
            `source ${found.name} is not a files source; database backups are run by their driver commands`,
          );
        }
        source = found.name;
        targets = [...found.files.paths];
        exclude = [...exclude, ...(found.files.exclude ?? [])];
      }
      if (flags.type !== undefined)
        throw new UsageError(
          `--type ${flags.type} is for SQL Server and Neo4j sources; a files backup is always of whole files`,
        );
      if (targets.length === 0)
        throw new UsageError('nothing to back up: give one or more paths, or --source NAME');
      // Recorded where they really are (real-paths.ts); the parent and the folder memo are found
      // by what is recorded, so giving the same path again finds them however it was spelled.
      const resolved = await recordedPaths(targets);
      const followed = resolved.filter((r) => r.given !== r.recorded);
      targets = [...new Set(resolved.map((r) => r.recorded))];
      exclude = excludesAsRecorded(exclude, resolved);
      const host = _hostOf(flags.host, ctx.env['HBR_HOST']);

      // A metadata-only scan of the paths runs while the repository key is derived (scrypt: a
      // quarter second of one core, the main thread idle): it stats what it finds, and the
      // backup's walk takes that instead of listing and stat'ing again (see seen-folders.ts). It
      // starts once the derivation has: the steps before it (reading the key files) would each
      // wait behind the scan. Its totals give the progress a percentage and an ETA once complete
      // (partial totals would overstate it).
      tracePhase('command started');
      const scanning = new AbortController();
      const seen = new SeenFolders();
      let totals: ScanTotals | undefined;
      let scan: Promise<void> | undefined;
      // Once: unlocking derives a key per key file it tries.
      const startScan = (): void => {
        scan ??= scanFiles(targets, exclude, () => undefined, scanning.signal, seen).then(
          (done) => void (totals = done),
          () => undefined, // the backup itself reports unreadable paths
        );
      };
      const stopScan = async (): Promise<void> => {
        scanning.abort();
        await scan;
      };
      // The parent, whose files' size, mtime, inode and ctime decide which files are read again: this
      // host's only (another machine's, a clone of this one, may match them with other content).
      const samePaths = (b: BackupRecord): boolean =>
        b.source === source &&
        b.host === host &&
        [...b.paths].sort().join('\0') === [...targets].sort().join('\0');
      const cacheDir = flags.cache ? cacheDirOf(ctx.env, ctx.cwd) : undefined;
      // Every file read as if new: not compared with the parent's, nor taken from the folder
      // memo. The saver still stores only what the index lacks. A plain backup also stores again
      // what `hbr repair` dropped (it reuses no parent node whose content the index lacks); this
      // reads what a stat cannot tell changed too.
      const reread = flags.reread === true;
      const reporter = reporterFor(ctx, globals);
      const { access, parent, startedAt, session, memo, memoFile } = await (async () => {
        const access = await accessRepository(ctx, globals, {
          onDeriveKey: startScan,
          objectCache: flags.cache,
        });
        tracePhase('repository opened');
        const startedAt = new Date();
        // The parent is found while the session starts (its lock, the index): from Azure or S3
        // each is a round trip or more.
        const starting = startSession(access.repo, {
          signal: ctx.signal,
          onLockLeft: warnLockLeft(reporter),
        });
        starting.catch(() => undefined); // awaited below, once the parent is known
        const parent = await access.repo.backups().then(
          (backups) => backups.filter(samePaths).at(-1),
          async (error: unknown) => {
            await starting.then((s) => s.abort()).catch(() => undefined);
            throw error;
          },
        );
        // Files to read ahead: the codec workers load while the session starts. Not for a backup
        // that likely reads nothing (an unchanged one needs no worker at all).
        if (parent === undefined || reread || seen.modifiedAfter(new Date(parent.startedAt))) {
          startCodecWorkers();
        }
        const memoFile =
          cacheDir === undefined
            ? undefined
            : folderMemoFile(cacheDir, access.repo, {
                source,
                paths: targets,
                exclude,
                ignoreCtime: flags.ignoreCtime === true,
              });
        // Read while the session starts; a first backup, and one reading everything, only record.
        const remembered =
          memoFile && parent && !reread
            ? FolderMemo.load(memoFile, access.repo.keys, parent.id)
            : undefined;
        const session = await starting;
        // Trusted only while the index still holds what it names: not after a repair or prune.
        const loaded = await remembered;
        const indexed = loaded?.validUnder((await access.repo.index()).objects);
        const memo = memoFile ? ((indexed ? loaded : undefined) ?? new FolderMemo()) : undefined;
        // The walk starts: stats taken from now on would be no newer than its own. A backup
        // with no parent reads every file, so it keeps none; so does one that rereads.
        seen.close(parent === undefined || reread);
        tracePhase('session started');
        return { access, parent, startedAt, session, memo, memoFile };
      })().catch(async (error: unknown) => {
        await stopScan();
        throw error;
      });
      // Without progress output the totals go unused: the scan has done its part while the key
      // was derived, and stops now rather than compete with the walk for this thread (a quarter
      // of a second in the benchmark's version-2 backup).
      if (globals.progress === false) await stopScan();
      const { repo } = access;
      reporter.start('backup');
      try {
        const result = await backupFiles({
          session,
          repo,
          paths: targets,
          exclude,
          ...(parent && !reread ? { parentTree: parent.tree } : {}),
          seen,
          ...(memo ? { memo } : {}),
          ...(flags.ignoreCtime ? { ignoreCtime: true } : {}),
          signal: ctx.signal,
          onProgress: (p) =>
            reporter.progress({
              files: p.files,
              bytes: p.bytesRead + p.bytesUnchanged,
              totalFiles: totals?.files,
              totalBytes: totals?.bytes,
              currentPath: p.currentPath,
            }),
          onFileError: (path, message) => reporter.fileError(path, new Error(message)),
          onSkipped: (path, message) => reporter.warn(`${printable(path)}: ${message}`, { path }),
        });
        tracePhase('files walked');
        for (const path of result.changedWhileReading) {
          reporter.warn(
            `${printable(path)}: changed while it was being read; the stored copy may be inconsistent`,
            { path },
          );
        }
        const record = await session.commitTree(
          result.tree,
          {
            source,
            kind: 'files',
            type: 'snapshot',
            startedAt,
            paths: targets,
            tags: flags.tag ?? [],
            ...(parent ? { parent: parent.id } : {}),
            host,
            meta: {
              errors: result.errors.length,
              changedWhileReading: result.changedWhileReading,
              newFiles: result.stats.newFiles,
              changedFiles: result.stats.changedFiles,
              unchangedFiles: result.stats.unchangedFiles,
              bytesRead: result.stats.bytesRead,
              recorded: [...RECORDED_FIELDS],
            },
          },
          {
            files: result.stats.files,
            bytes: result.stats.bytes,
            unreadable: result.errors.length,
            changedWhileRead: result.changedWhileReading.length,
          },
        );
        tracePhase('committed');
        // A cache: a backup that cannot write it is no less saved (the next one reads trees).
        if (memo && memoFile) {
          const { objects } = await repo.index();
          await memo.save(memoFile, repo.keys, record.id, objects).catch(() => undefined);
        }
        const s = result.stats;
        // The backup is committed: a replica that fails now is a warning, not a lost backup.
        const replicas = await replicateAfterBackup(ctx, access, reporter, globals.config);
        for (const r of replicas.filter((x) => !x.ok))
          reporter.warn(`replication to ${r.replica} failed: ${r.error ?? ''}`, {
            replica: r.replica,
          });
        const partial =
          result.errors.length > 0 ||
          result.changedWhileReading.length > 0 ||
          replicas.some((r) => !r.ok);
        reporter.summary(
          {
            backupId: record.id,
            shortId: record.shortId,
            source,
            parent: parent?.id ?? null,
            reread,
            newFiles: s.newFiles,
            changedFiles: s.changedFiles,
            unchangedFiles: s.unchangedFiles,
            dirs: s.dirs,
            totalFiles: s.files,
            totalBytes: s.bytes,
            bytesRead: s.bytesRead,
            addedBytes: record.summary.addedBytes,
            durationMs: record.summary.durationMs,
            errors: result.errors,
            changedWhileReading: result.changedWhileReading,
            recordedPaths: followed,
            replicas,
            partial,
          },
          [
            ...followed.map(
              (r) => `Path:     ${r.given} leads through a symlink: recorded as ${r.recorded}`,
            ),
            reread
              ? `Files:    ${s.files} read again (--reread) (${s.dirs} folders)`
              : `Files:    ${s.newFiles} new, ${s.changedFiles} changed, ${s.unchangedFiles} unchanged (${s.dirs} folders)`,
            `Read:     ${formatBytes(s.bytesRead)} of ${formatBytes(s.bytes)}`,
            `Added:    ${formatBytes(record.summary.addedBytes)} to the repository (after dedup and compression)`,
            `Duration: ${formatDuration(record.summary.durationMs)}`,
            ...(partial
              ? [
                  `Warning:  ${result.errors.length} unreadable, ${result.changedWhileReading.length} changed while read (see above)`,
                ]
              : []),
            ...replicas.map((r) =>
              r.ok
                ? `Replica:  ${r.replica}: copied ${r.copiedObjects ?? 0} objects (${formatBytes(r.copiedBytes ?? 0)})`
                : `Warning:  replication to ${r.replica} failed (the backup is saved; run \`hbr replicate --to ${r.replica}\`)`,
            ),
            `backup ${record.shortId} saved${parent ? ` (parent ${parent.shortId})` : ''}`,
          ],
        );
        if (partial) setExitCode(ExitCode.partial);
      } catch (error) {
        await session.abort();
        throw error;
      } finally {
        await stopScan();
        reporter.done();
      }
    });
};

/**
 * The host a files backup is recorded as from: `--host` (an empty one is refused: an unset
 * variable in a script), else HBR_HOST unless empty, else this machine's hostname.
 */
function _hostOf(flag: string | undefined, env: string | undefined): string {
  const given = flag ?? (env === '' ? undefined : env);
  if (given === undefined) return hostname();
  const name = given.trim();
  if (name === '' || name.length > 255 || /[\p{Cc}]/u.test(name)) {
    throw new UsageError(
      `--host ${JSON.stringify(given)}: give a host name (1-255 printable characters)`,
    );
  }
  return name;
}

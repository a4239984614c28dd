import { addDuration, parseDuration } from '../../config/index.ts';
import { IntegrityError, UsageError } from '../../errors.ts';
import type { OpenRepository } from '../../repository/index.ts';
import { replicateRepository, type ReplicationReport } from '../../repository/replicate.ts';
import type { Store } from '../../stores/types.ts';
import { globalsOf, type CliContext } from '../context.ts';
import {
  accessRepository,
  openReplicaStore,
  openStoreAt,
  reporterFor,
  warnLockLeft,
  type RepositoryAccess,
} from '../repository-access.ts';
import { formatBytes, formatDuration, type Reporter } from '../reporter.ts';
import {
  configInUse,
  configRepositoryLocation,
  parseLocation,
  requireConfig,
  sameLocation,
} from '../resolve.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr replicate --to NAME` or `hbr replicate --to-repo LOCATION`. */
export const registerReplicate: RegisterCommand = (program, ctx) => {
  program
    .command('replicate')
    .description(
      'copy every object the replica lacks (packs, then index, then backups), byte for byte',
    )
    .option('--to <name>', 'a replica named in the config (replicas:)')
    .option('--to-repo <location>', 'a replica at this location (path, azure://…, s3://…)')
    .option(
      '--retain-for <duration>',
      'hold copied objects undeletable this long (e.g. 90d); refused where the replica has no retention',
    )
    .action(async (flags, command) => {
      const globals = globalsOf(command);
      if (Boolean(flags.to) === Boolean(flags.toRepo))
        throw new UsageError('give the replica: --to NAME (from the config) or --to-repo LOCATION');
      let retainFor = flags.retainFor;
      if (retainFor !== undefined) parseDuration(retainFor); // a bad flag before any work
      const access = await accessRepository(ctx, globals);
      let target: Store;
      let label: string;
      if (flags.to) {
        const { config, file } =
          access.config && access.configFile
            ? { config: access.config, file: access.configFile }
            : await requireConfig({ env: ctx.env, cwd: ctx.cwd, flag: globals.config });
        const opened = await openReplicaStore(ctx.env, config, file, flags.to);
        target = opened.store;
        retainFor ??= opened.replica.retainFor;
        label = flags.to;
      } else {
        const location = parseLocation(flags.toRepo ?? '', ctx.cwd, '--to-repo');
        target = await openStoreAt(location, ctx.env);
        label = target.name;
      }
      const reporter = reporterFor(ctx, globals);
      try {
        const report = await _run(ctx, access.repo, target, reporter, retainFor);
        reporter.summary({ replica: label, ...report }, _lines(label, report));
        if (!report.ok) {
          throw new IntegrityError(
            `replication to ${label} incomplete: ${report.errors.length} problem(s): ${report.errors.map((e) => e.key).join(', ')}; each is named above (--json: errors)`,
          );
        }
      } finally {
        reporter.done();
        await target.close?.();
      }
    });
};

/** The outcome of replicating to one replica right after a backup. */
export interface AfterBackupReplication {
  readonly replica: string;
  readonly ok: boolean;
  readonly copiedObjects?: number;
  readonly copiedBytes?: number;
  readonly error?: string;
}

/**
 * Replicates to every replica of the config marked `afterBackup: true`: the config the repository
 * came from, or else the config file in use (`configFlag`, HBR_CONFIG, ./hbr.yaml) when it names
 * the same repository as --repo or HBR_REPOSITORY did (else a warning says the replicas were not
 * run). Never throws: a failure is returned (the backup itself is already safe).
 */
export async function replicateAfterBackup(
  ctx: CliContext,
  access: RepositoryAccess,
  reporter: Reporter,
  configFlag: string | undefined,
): Promise<AfterBackupReplication[]> {
  let { config, configFile } = access;
  if (!config || !configFile) {
    const loaded = await configInUse({ env: ctx.env, cwd: ctx.cwd, flag: configFlag }).catch(
      (error: unknown) => {
        reporter.warn(`replicas after backup not run: ${(error as Error).message}`);
        return undefined;
      },
    );
    const named = loaded?.config.replicas?.filter((r) => r.afterBackup).map((r) => r.name) ?? [];
    if (!loaded || named.length === 0) return [];
    const own = configRepositoryLocation(loaded.config, loaded.file);
    if (!own || !sameLocation(own, access.location)) {
      reporter.warn(
        `replicas ${named.join(', ')} (afterBackup in ${loaded.file}) not run: this backup went to the repository --repo or HBR_REPOSITORY names, not to the config's`,
      );
      return [];
    }
    config = loaded.config;
    configFile = loaded.file;
  }
  if (!config || !configFile) return [];
  const results: AfterBackupReplication[] = [];
  for (const replica of (config.replicas ?? []).filter((r) => r.afterBackup)) {
    let target: Store | undefined;
    try {
      target = (await openReplicaStore(ctx.env, config, configFile, replica.name)).store;
      const report = await _run(ctx, access.repo, target, reporter, replica.retainFor);
      const { copiedObjects, copiedBytes } = report;
      for (const w of report.warnings) reporter.warn(`replica ${replica.name}: ${w.message}`);
      results.push({
        replica: replica.name,
        ok: report.ok,
        copiedObjects,
        copiedBytes,
        ...(report.ok ? {} : { error: report.errors.map((e) => e.message).join('; ') }),
      });
    } catch (error) {
      results.push({
        replica: replica.name,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      await target?.close?.().catch(() => undefined);
    }
  }
  return results;
}

// --- internal ---

async function _run(
  ctx: CliContext,
  repo: OpenRepository,
  target: Store,
  reporter: Reporter,
  retainFor?: string,
): Promise<ReplicationReport> {
  // The flag's period, else the replica's retainFor (given to its store too, which applies it
  // where it can): either way, replication refuses a replica that cannot hold it.
  const retainUntil =
    retainFor === undefined ? undefined : addDuration(new Date(), parseDuration(retainFor));
  // Two tasks: both repositories listed (a count, no total yet; on a remote store of many packs a
  // while), then, as restore's, the objects copied and those only read for the gap check (all a
  // run does on an up-to-date replica), of the run's totals.
  reporter.start('list');
  let listing = true;
  return replicateRepository(repo.store, target, {
    keys: repo.keys,
    keyId: repo.keyId,
    ...(retainUntil ? { retainUntil } : {}),
    signal: ctx.signal,
    onLockLeft: warnLockLeft(reporter),
    onListing: (l) => reporter.progress({ files: l.listed, bytes: 0, currentPath: l.prefix }),
    onProgress: (p) => {
      if (listing) reporter.start('replicate');
      listing = false;
      reporter.progress({
        files: p.objectsDone,
        bytes: p.bytesDone,
        totalFiles: p.objectsTotal,
        totalBytes: p.bytesTotal,
        currentPath: p.kind,
      });
    },
  });
}

function _lines(label: string, report: ReplicationReport): string[] {
  const k = report.kinds;
  const present = Object.values(k).reduce((n, r) => n + r.present, 0);
  const copied = (['data', 'index', 'snapshots', 'keys', 'config'] as const)
    .filter((kind) => k[kind].copied > 0)
    .map((kind) => `${k[kind].copied} ${kind} (${formatBytes(k[kind].copiedBytes)})`);
  return [
    `Replica:  ${label} (${report.target})${report.newReplica ? ', new' : ''}`,
    `Copied:   ${copied.length ? copied.join(', ') : 'nothing (the replica was up to date)'}`,
    `Present:  ${present} objects already on the replica`,
    ...report.warnings.map((w) => `WARNING:  ${w.message}`),
    ...report.errors.map((e) => `ERROR:    ${e.message}`),
    `replicated ${report.copiedObjects} objects (${formatBytes(report.copiedBytes)}) in ${formatDuration(report.durationMs)}`,
  ];
}

import { rememberForgotten } from '../../drivers/sqlserver/forgotten-sets.ts';
import { isHbrError, UsageError } from '../../errors.ts';
import { backupGroup } from '../../policy/backup-groups.ts';
import { applyKeepRules, givesRules, hasRules, type KeepRules } from '../../policy/keep-rules.ts';
import { chainHeads, neededByKept } from '../../policy/restore-chains.ts';
import { describeLock, removeLocks } from '../../repository/locks.ts';
import { isFailedBackup, type BackupRecord } from '../../repository/index.ts';
import { forgetBackups, pruneRepository } from '../../repository/prune.ts';
import { globalsOf } from '../context.ts';
import { configInUse } from '../resolve.ts';
import { accessRepository, parseCount, reporterFor, warnLockLeft } from '../repository-access.ts';
import { formatBytes } from '../reporter.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr forget`, `hbr prune` and `hbr unlock`. */
export const registerMaintenance: RegisterCommand = (program, ctx) => {
  program
    .command('forget')
    .description(
      "remove backups by id, or all but those the --keep rules (else the config's retention:) keep, per source (backups of files: per host, and paths given on the command line); data is freed by prune",
    )
    .argument('[ids...]', 'backup ids to remove')
    .option('--keep-last <n>', 'keep the n newest backups')
    .option('--keep-hourly <n>', 'keep the newest backup of each of the last n hours that have one')
    .option('--keep-daily <n>', '… days')
    .option('--keep-weekly <n>', '… ISO weeks')
    .option('--keep-monthly <n>', '… months')
    .option('--keep-yearly <n>', '… years')
    .option(
      '--keep-within <duration>',
      'keep every backup within this long of the newest (e.g. 7d, 2w, 6mo, 1y)',
    )
    .option('-s, --source <name>', 'only consider backups of this source')
    .option('--prune', 'run prune afterwards')
    .option(
      '--force',
      'remove the backups named even when others, or the next log backups, need them: those cannot be restored until the next full or differential backup',
    )
    .option('-n, --dry-run', 'show what would be removed')
    .action(async (ids: string[], flags, command) => {
      const globals = globalsOf(command);
      const n = (v: string | undefined, name: string): number | undefined =>
        v === undefined ? undefined : parseCount(v, name);
      const rules: KeepRules = {
        last: n(flags.keepLast, '--keep-last'),
        hourly: n(flags.keepHourly, '--keep-hourly'),
        daily: n(flags.keepDaily, '--keep-daily'),
        weekly: n(flags.keepWeekly, '--keep-weekly'),
        monthly: n(flags.keepMonthly, '--keep-monthly'),
        yearly: n(flags.keepYearly, '--keep-yearly'),
        within: flags.keepWithin,
      };
      if (ids.length > 0 && givesRules(rules))
        throw new UsageError('give backup ids or --keep rules, not both');
      // `--keep-last 0` is an order to keep nothing, not the absence of rules: never a reason to
      // fall back to the config's retention (which removed backups for it).
      if (givesRules(rules) && !hasRules(rules))
        throw new UsageError(
          '--keep rules that all keep nothing (counts of 0) would remove every backup: refused; give a count of 1 or more, or --keep-within, or name the backups to remove by id',
        );
      // The config in use, read once for what needs it: retention rules, history days.
      let configRead: ReturnType<typeof configInUse> | undefined;
      const config = (): ReturnType<typeof configInUse> =>
        (configRead ??= configInUse({ env: ctx.env, cwd: ctx.cwd, flag: globals.config }));
      // Without rules on the command line, each source's `retention:` in the config applies.
      const configured =
        ids.length === 0 && !givesRules(rules)
          ? _configuredRules(await config())
          : new Map<string, KeepRules>();
      if (ids.length === 0 && !hasRules(rules) && configured.size === 0)
        throw new UsageError(
          'give backup ids to remove, --keep rules, or retention: for sources in the config (forget never removes everything by default)',
        );
      const { repo } = await accessRepository(ctx, globals);
      const reporter = reporterFor(ctx, globals);
      const everything = await repo.backups();
      const all = everything.filter((b) => !flags.source || b.source === flags.source);
      if (flags.source && all.length === 0)
        throw new UsageError(`no backups of source ${flags.source} in the repository`);
      const decisions = [];
      if (ids.length > 0) {
        const named = new Set<string>();
        for (const id of ids) {
          // `latest` and short ids are looked up among the --source's backups only.
          const item = await repo.findBackup(id, flags.source ? { source: flags.source } : {});
          if (named.has(item.id)) continue; // named twice
          named.add(item.id);
          decisions.push({ item, keep: false, reasons: ['named'] });
        }
        // Never, unless forced, what a backup left in place needs to be restored (a SQL Server
        // log's full), whichever backups --source shows, nor the newest backup of a SQL Server
        // chain with what it needs: the log backups to come continue that chain.
        const sources = new Set(decisions.map((d) => d.item.source));
        const theirs = everything.filter((b) => sources.has(b.source));
        const heads = new Set(chainHeads(theirs).map((b) => b.id));
        const left = theirs.filter((b) => !named.has(b.id) || heads.has(b.id));
        const needed = neededByKept(theirs, new Set(left.map((b) => b.id)));
        const blocked = decisions.flatMap((d) => {
          const why = heads.has(d.item.id)
            ? `the newest backup of ${d.item.source}: the next log backups continue its chain`
            : needed.get(d.item.id);
          return why === undefined ? [] : [`${d.item.shortId} (${why})`];
        });
        if (blocked.length > 0 && !flags.force)
          throw new UsageError(
            `refusing to remove ${blocked.join(', ')}: the backups that need them, taken or to come, could not be restored until the next full or differential backup; remove those too, or pass --force`,
          );
        if (blocked.length > 0)
          reporter.warn(
            `--force: removing ${blocked.join(', ')}; the backups that need them cannot be restored until the next full or differential backup`,
          );
      } else {
        for (const group of new Set(all.map(backupGroup))) {
          const members = all.filter((b) => backupGroup(b) === group);
          const groupRules = hasRules(rules) ? rules : configured.get(members[0]!.source);
          if (groupRules) {
            // A backup that stored nothing because it could read nothing counts toward no rule,
            // as `latest` passes over it: counted, `--keep-last 1` kept it and removed the only
            // backup holding the files. It holds nothing, so it is removed.
            const time = (b: BackupRecord): Date => new Date(b.startedAt);
            const failed = members.filter(isFailedBackup);
            const judged = [
              ...applyKeepRules(
                members.filter((b) => !isFailedBackup(b)),
                time,
                groupRules,
              ),
              ...failed.map((item) => ({ item, keep: false, reasons: ['stored nothing'] })),
            ];
            decisions.push(
              ...judged.sort((a, b) => time(b.item).getTime() - time(a.item).getTime()),
            );
          } else
            decisions.push(
              ...members.map((item) => ({ item, keep: true, reasons: ['no retention'] })),
            );
        }
        // What the kept backups need to be restored is kept too (a SQL Server log's full).
        const needed = neededByKept(
          all,
          new Set(decisions.filter((d) => d.keep).map((d) => d.item.id)),
          ({ backup, why }) =>
            reporter.warn(
              `backup ${backup.shortId} of ${backup.source} cannot be restored from the repository alone (${why}): every older backup of ${backup.source} is kept`,
              { backup: backup.id },
            ),
        );
        for (const [i, d] of decisions.entries()) {
          const why = needed.get(d.item.id);
          if (why !== undefined) decisions[i] = { ...d, keep: true, reasons: [why] };
        }
      }
      const remove = decisions.filter((d) => !d.keep).map((d) => d.item);
      const removed = new Set(remove.map((b) => b.id));
      if (!flags.dryRun) {
        const historyDays = await _historyDays(config());
        await forgetBackups(repo, [...removed], {
          onLockLeft: warnLockLeft(reporter),
          // msdb still shows the sets of the SQL Server backups removed: recorded, so that they
          // are not taken for backups whose commit failed.
          remember: (recorded, deleted) =>
            rememberForgotten(everything, removed, recorded, {
              applyRule: deleted,
              historyDays,
            }),
        });
      }
      const lines = decisions.map(
        (d) =>
          `${d.keep ? 'keep  ' : 'remove'}  ${d.item.shortId}  ${d.item.startedAt.slice(0, 19)}  ${backupGroup(d.item)}  ${d.reasons.join(',')}`,
      );
      const verb = flags.dryRun ? 'would remove' : 'removed';
      let pruned: Awaited<ReturnType<typeof pruneRepository>> | undefined;
      let pruneError: unknown;
      try {
        if (flags.prune && !flags.dryRun)
          pruned = await pruneRepository(repo, {
            signal: ctx.signal,
            onLockLeft: warnLockLeft(reporter),
          });
      } catch (error) {
        pruneError = error; // what was removed is reported first
      }
      reporter.result(
        {
          dryRun: Boolean(flags.dryRun),
          keep: decisions.filter((d) => d.keep).map((d) => ({ id: d.item.id, reasons: d.reasons })),
          remove: remove.map((b) => b.id),
          ...(pruned ? { prune: pruned } : {}),
        },
        `${lines.join('\n')}\n${verb} ${remove.length} backup(s)\n${pruned ? `prune: freed ${formatBytes(pruned.bytesFreed)}\n` : ''}`,
      );
      if (pruneError !== undefined) throw _pruneFailed(pruneError, remove.length);
    });
  program
    .command('prune')
    .description('free the space of data no backup needs (takes an exclusive lock)')
    .option(
      '--max-unused <percent>',
      'tolerated unused space before partly-used packs are repacked',
      '5',
    )
    .option('-n, --dry-run', 'show what would be done')
    .action(async (flags, command) => {
      const globals = globalsOf(command);
      const maxUnusedPercent = Number(flags.maxUnused.replace(/%$/, ''));
      const { repo } = await accessRepository(ctx, globals);
      const reporter = reporterFor(ctx, globals);
      const report = await pruneRepository(repo, {
        maxUnusedPercent,
        dryRun: Boolean(flags.dryRun),
        signal: ctx.signal,
        onStep: (s) => reporter.info(s),
        onLockLeft: warnLockLeft(reporter),
      });
      reporter.result(
        report,
        `${report.dryRun ? 'would delete' : 'deleted'} ${report.packsDeleted} unused and ${report.unindexedPacksDeleted} unindexed packs${report.unindexedPacksKept > 0 ? ` (indexed ${report.unindexedPacksKept} unindexed packs that backups use)` : ''}, repacked ${report.packsRepacked}; ${report.dryRun ? 'would free' : 'freed'} ${formatBytes(report.bytesFreed)}${report.temporaryFilesRemoved > 0 ? `; removed ${report.temporaryFilesRemoved} temporary file(s) left by interrupted writes` : ''}${report.damagedIndexesRemoved > 0 ? `; ${report.dryRun ? 'would remove' : 'removed'} ${report.damagedIndexesRemoved} damaged index object(s) whose packs are indexed elsewhere` : ''}\n`,
      );
    });
  program
    .command('unlock')
    .description('remove stale locks (left by processes that died), or all locks with --remove-all')
    .option(
      '--remove-all',
      'remove every lock, even live ones: only when you know no hbr process runs',
    )
    .action(async (flags, command) => {
      const globals = globalsOf(command);
      const { repo } = await accessRepository(ctx, globals);
      const reporter = reporterFor(ctx, globals);
      // Deletes only what it must: with nothing to remove, a read-only credential does.
      const removed = await removeLocks(repo.store, repo.keys, {
        all: Boolean(flags.removeAll),
        onLockLeft: warnLockLeft(reporter),
      });
      reporter.result(
        {
          removed: removed.map((l) => ({
            key: l.key,
            operation: l.operation,
            host: l.host,
            pid: l.pid,
            time: l.time,
          })),
        },
        `removed ${removed.length} lock(s)\n${removed.map((l) => `  ${l.key}  ${describeLock(l)}`).join('\n')}${removed.length ? '\n' : ''}`,
      );
    });
};

// --- internal ---

/**
 * The error of a prune after forget removed backups, saying so: the same error (its class, and so
 * its exit code, such as 11 for a repository locked by a running backup), its message prefixed.
 */
function _pruneFailed(error: unknown, removed: number): unknown {
  if (error instanceof Error)
    error.message = `forget removed ${removed} backup(s); only the prune after it failed (run hbr prune later): ${error.message}`;
  return error;
}

/**
 * Per source, the days of msdb history its backups read (`importHistoryDays`, by the config in
 * use; 30 by default): forget's record of the sets it removed keeps no older ones. Where the config
 * cannot be read, every age is kept.
 */
async function _historyDays(
  config: ReturnType<typeof configInUse>,
): Promise<(source: string) => number> {
  let loaded: Awaited<ReturnType<typeof configInUse>>;
  try {
    loaded = await config;
  } catch (error) {
    if (!isHbrError(error)) throw error;
    return () => Infinity;
  }
  const days = new Map<string, number>();
  for (const s of loaded?.config.sources ?? [])
    if (s.kind === 'sqlserver' && s.sqlserver.importHistoryDays !== undefined)
      days.set(s.name, s.sqlserver.importHistoryDays);
  return (source) => days.get(source) ?? 30;
}

/** The keep rules of each source of the config in use (`loaded`) that has a `retention:` keeping anything. */
function _configuredRules(loaded: Awaited<ReturnType<typeof configInUse>>): Map<string, KeepRules> {
  const rules = new Map<string, KeepRules>();
  for (const { name, retention } of loaded?.config.sources ?? []) {
    if (!retention) continue;
    const r: KeepRules = {
      last: retention.keepLast,
      hourly: retention.keepHourly,
      daily: retention.keepDaily,
      weekly: retention.keepWeekly,
      monthly: retention.keepMonthly,
      yearly: retention.keepYearly,
      within: retention.keepWithin,
    };
    if (hasRules(r)) rules.set(name, r);
  }
  return rules;
}

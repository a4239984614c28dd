import { incompleteOf } from '../backup-ref.ts';
import { NotFoundError } from '../../errors.ts';
import type { BackupRecord } from '../../repository/index.ts';
import { globalsOf, type CliContext } from '../context.ts';
import { configInUse } from '../resolve.ts';
import { accessRepository, reporterFor } from '../repository-access.ts';
import { formatBytes } from '../reporter.ts';
import { formatTable } from '../table.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr backups`: lists backups, oldest first. */
export const registerBackups: RegisterCommand = (program, ctx) => {
  program
    .command('backups')
    .description('list backups')
    .option('-s, --source <name>', 'only backups of this source')
    .action(async (flags, command) => {
      const globals = globalsOf(command);
      const { repo } = await accessRepository(ctx, globals);
      const reporter = reporterFor(ctx, globals);
      const backups = (
        await repo.backups(ctx.signal, {
          onDamaged: (error) => reporter.warn(`${error.message} (left out; see hbr check)`),
        })
      ).filter((b) => !flags.source || b.source === flags.source);
      if (flags.source && backups.length === 0)
        await _refuseUnknownSource(ctx, flags.source, globals.config);
      const rows = backups.map((b) => [
        b.shortId,
        b.finishedAt.slice(0, 19).replace('T', ' '),
        b.source,
        b.type,
        formatBytes(b.summary.bytes),
        formatBytes(b.summary.addedBytes),
        _incompleteColumn(b),
        b.paths.join(', '),
      ]);
      const incomplete = backups.filter((b) => incompleteOf(b)).length;
      const text =
        formatTable(
          ['ID', 'Time (UTC)', 'Source', 'Type', 'Size', 'Added', 'Incomplete', 'Paths'],
          rows,
        ) +
        `${backups.length} backup${backups.length === 1 ? '' : 's'}` +
        (incomplete > 0
          ? `, ${incomplete} incomplete (files unreadable or changed while read)`
          : '') +
        '\n';
      // --json: every record, with `incomplete` (or null) beside the summary's counts.
      reporter.result(
        backups.map((b) => ({ ...b, incomplete: incompleteOf(b) ?? null })),
        text,
      );
    });
};

// --- internal ---

/**
 * Throws for a `--source` named neither in the config nor by any backup (a typo), as `ls`,
 * `restore`, `diff` and `forget` refuse it: monitoring that reads `backups --source X --json`
 * would otherwise see an empty list, as if the source had never been backed up. A configured
 * source that has no backup yet lists none.
 */
async function _refuseUnknownSource(
  ctx: CliContext,
  source: string,
  configFlag: string | undefined,
): Promise<void> {
  const loaded = await configInUse({ env: ctx.env, cwd: ctx.cwd, flag: configFlag });
  if (loaded?.config.sources?.some((s) => s.name === source)) return;
  const config = loaded ? `no source named "${source}" in ${loaded.file}` : 'no config file';
  throw new NotFoundError(`no backups of source ${source} in the repository, and ${config}`);
}

/** `2 unreadable, 1 changed`, or empty for a complete backup. */
function _incompleteColumn(b: BackupRecord): string {
  const what = incompleteOf(b);
  if (!what) return '';
  return [
    ...(what.unreadable > 0 ? [`${what.unreadable} unreadable`] : []),
    ...(what.changedWhileRead > 0 ? [`${what.changedWhileRead} changed`] : []),
  ].join(', ');
}

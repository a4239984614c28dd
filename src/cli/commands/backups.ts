import { incompleteOf } from '../backup-ref.ts';
import type { BackupRecord } from '../../repository/index.ts';
import { globalsOf } from '../context.ts';
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

/** `2 unreadable, 1 changed`, or empty for a complete backup. */
function _incompleteColumn(b: BackupRecord): string {
  const what = incompleteOf(b);
  if (!what) return '';
  return [
    ...(what.unreadable > 0 ? [`${what.unreadable} unreadable`] : []),
    ...(what.changedWhileRead > 0 ? [`${what.changedWhileRead} changed`] : []),
  ].join(', ');
}

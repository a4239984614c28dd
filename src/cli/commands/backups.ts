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
        b.paths.join(', '),
      ]);
      const text =
        formatTable(['ID', 'Time (UTC)', 'Source', 'Type', 'Size', 'Added', 'Paths'], rows) +
        `${backups.length} backup${backups.length === 1 ? '' : 's'}\n`;
      reporter.result(backups, text);
    });
};

import { collect } from '../repeatable.ts';
import { diffTrees, listTree, recordedByBoth } from '../../drivers/files/index.ts';
import { isHbrError } from '../../errors.ts';
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
import { accessRepository, reporterFor } from '../repository-access.ts';
import { formatBytes } from '../reporter.ts';
import { printable } from '../../util/printable.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr ls ID [PATH]` and `hbr diff ID1 ID2`. */
export const registerBrowse: RegisterCommand = (program, ctx) => {
  program
    .command('ls')
    .description('list the files of a backup')
    .argument('<backup>', 'backup id, unique prefix, or "latest"')
    .argument('[path]', 'a path inside the backup (a relative one from the current folder)', '/')
    .option('-s, --source <name>', SOURCE_HELP)
    .option('--path <path>', PATH_HELP, collect, [] as string[])
    .action(async (ref: string, given: string, flags, command) => {
      const globals = globalsOf(command);
      const path = pathInBackup(given, ctx.cwd, 'ls');
      const { repo } = await accessRepository(ctx, globals);
      const reporter = reporterFor(ctx, globals);
      const backup = await repo.findBackup(ref, await latestFilter(flags, ctx.cwd));
      const incomplete = incompleteWarning(backup);
      if (incomplete) reporter.warn(incomplete, { backupId: backup.id, ...incompleteOf(backup) });
      const nodes = await listTree(repo, backup.tree, path).catch((error: unknown) => {
        throw isHbrError(error) && error.code === 'NOT_FOUND'
          ? withBackupNamed(error, backup, ref, [path])
          : error;
      });
      const text = nodes
        .map((n) => {
          const kind = { dir: 'd', symlink: 'l', fifo: 'p', file: '-' }[n.type];
          const size = n.type === 'file' ? formatBytes(n.size ?? 0) : '';
          const link = n.linkTarget !== undefined ? ` -> ${printable(n.linkTarget)}` : '';
          const torn = n.changedWhileReading ? '  (changed while read: may be torn)' : '';
          return `${kind}${n.mode.toString(8).padStart(4, '0')}  ${size.padStart(10)}  ${n.mtime.slice(0, 19).replace('T', ' ')}  ${printable(n.path)}${link}${torn}`;
        })
        .join('\n');
      reporter.result(nodes, text ? `${text}\n` : '');
    });
  program
    .command('diff')
    .description(
      'show what changed between two backups (+ added, - removed, M modified, T type, U metadata)',
    )
    .argument('<from>', 'older backup')
    .argument('<to>', 'newer backup')
    .option('-s, --source <name>', SOURCE_HELP)
    .option('--path <path>', PATH_HELP, collect, [] as string[])
    .action(async (from: string, to: string, flags, command) => {
      const globals = globalsOf(command);
      const { repo } = await accessRepository(ctx, globals);
      const filter = await latestFilter(flags, ctx.cwd);
      const [a, b] = [await repo.findBackup(from, filter), await repo.findBackup(to, filter)];
      const changes = await diffTrees(
        repo,
        a.tree,
        b.tree,
        [...a.paths, ...b.paths],
        recordedByBoth(a.meta, b.meta),
      );
      const counts = { '+': 0, '-': 0, M: 0, T: 0, U: 0 };
      for (const c of changes) counts[c.change]++;
      const text =
        changes
          .map(
            (c) =>
              `${c.change}  ${printable(c.path)}${c.changed ? `  (${c.changed.join(', ')})` : ''}`,
          )
          .join('\n') +
        `${changes.length ? '\n' : ''}${counts['+']} added, ${counts['-']} removed, ${counts.M} modified, ${counts.T} type changed, ${counts.U} metadata only\n`;
      reporterFor(ctx, globals).result({ from: a.id, to: b.id, changes }, text);
    });
};

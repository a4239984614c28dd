import { diffTrees, listTree } from '../../drivers/files/index.ts';
import { globalsOf } from '../context.ts';
import { accessRepository, reporterFor } from '../repository-access.ts';
import { formatBytes } from '../reporter.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr ls ID [PATH]` and `hbr diff ID1 ID2`. */
export const registerBrowse: RegisterCommand = (program, ctx) => {
  program
    .command('ls')
    .description('list the files of a backup')
    .argument('<backup>', 'backup id, unique prefix, or "latest"')
    .argument('[path]', 'a path inside the backup', '/')
    .action(async (ref: string, path: string, _flags, command) => {
      const globals = globalsOf(command);
      const { repo } = await accessRepository(ctx, globals);
      const backup = await repo.findBackup(ref);
      const nodes = await listTree(repo, backup.tree, path);
      const text = nodes
        .map((n) => {
          const kind = { dir: 'd', symlink: 'l', fifo: 'p', file: '-' }[n.type];
          const size = n.type === 'file' ? formatBytes(n.size ?? 0) : '';
          const link = n.linkTarget !== undefined ? ` -> ${n.linkTarget}` : '';
          return `${kind}${n.mode.toString(8).padStart(4, '0')}  ${size.padStart(10)}  ${n.mtime.slice(0, 19).replace('T', ' ')}  ${n.path}${link}`;
        })
        .join('\n');
      reporterFor(ctx, globals).result(nodes, text ? `${text}\n` : '');
    });
  program
    .command('diff')
    .description(
      'show what changed between two backups (+ added, - removed, M modified, T type, U metadata)',
    )
    .argument('<from>', 'older backup')
    .argument('<to>', 'newer backup')
    .action(async (from: string, to: string, _flags, command) => {
      const globals = globalsOf(command);
      const { repo } = await accessRepository(ctx, globals);
      const [a, b] = [await repo.findBackup(from), await repo.findBackup(to)];
      const changes = await diffTrees(repo, a.tree, b.tree);
      const counts = { '+': 0, '-': 0, M: 0, T: 0, U: 0 };
      for (const c of changes) counts[c.change]++;
      const text =
        changes.map((c) => `${c.change}  ${c.path}`).join('\n') +
        `${changes.length ? '\n' : ''}${counts['+']} added, ${counts['-']} removed, ${counts.M} modified, ${counts.T} type changed, ${counts.U} metadata only\n`;
      reporterFor(ctx, globals).result({ from: a.id, to: b.id, changes }, text);
    });
};

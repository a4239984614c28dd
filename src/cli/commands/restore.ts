import { resolve } from 'node:path';
import { restoreFiles } from '../../drivers/files/index.ts';
import { UsageError } from '../../errors.ts';
import { globalsOf } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { accessRepository, reporterFor } from '../repository-access.ts';
import { formatBytes, formatDuration } from '../reporter.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr restore ID|latest --target DIR [--include PATH]`. */
export const registerRestore: RegisterCommand = (program, ctx, setExitCode) => {
  program
    .command('restore')
    .description('restore a files backup (all of it, or --include paths) into a folder')
    .argument('<backup>', 'backup id, unique prefix, or "latest"')
    .requiredOption('-t, --target <dir>', 'folder to restore into')
    .option(
      '-i, --include <path...>',
      'restore only these paths of the backup (as hbr ls shows them)',
    )
    .option('-s, --source <name>', 'with "latest": the latest backup of this source')
    .option('--overwrite', 'replace files that already exist in the target')
    .action(async (ref: string, flags, command) => {
      const globals = globalsOf(command);
      const { repo } = await accessRepository(ctx, globals);
      const backup = await repo.findBackup(ref, flags.source ? { source: flags.source } : {});
      if (backup.kind !== 'files') {
        throw new UsageError(
          `backup ${backup.shortId} is a ${backup.kind} backup; restore it with its driver (hbr restore --source ${backup.source})`,
        );
      }
      const reporter = reporterFor(ctx, globals);
      const started = Date.now();
      reporter.start('restore');
      try {
        const result = await restoreFiles({
          repo,
          backup,
          target: resolve(ctx.cwd, flags.target),
          include: flags.include ?? [],
          overwrite: Boolean(flags.overwrite),
          signal: ctx.signal,
          onProgress: (p) =>
            reporter.progress({
              files: p.files,
              bytes: p.bytes,
              totalFiles: p.totalFiles,
              totalBytes: p.totalBytes,
            }),
        });
        for (const e of result.errors) reporter.fileError(e.path, new Error(e.message));
        const durationMs = Date.now() - started;
        reporter.summary(
          {
            backupId: backup.id,
            shortId: backup.shortId,
            files: result.files,
            dirs: result.dirs,
            bytes: result.bytes,
            errors: result.errors,
            durationMs,
          },
          [
            `Restored: ${result.files} files, ${result.dirs} folders, ${formatBytes(result.bytes)} in ${formatDuration(durationMs)} (every file verified)`,
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
      }
    });
};

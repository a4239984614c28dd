import { UsageError } from '../../errors.ts';
import { globalsOf } from '../context.ts';
import { accessRepository, parseCount, reporterFor } from '../repository-access.ts';
import type { RegisterCommand } from './index.ts';

/** `hbr init`: creates a repository at the resolved location. */
export const registerInit: RegisterCommand = (program, ctx) => {
  program
    .command('init')
    .description(
      'create a new, empty repository (password from HBR_PASSWORD, --password-file or --key-file)',
    )
    .option('--pack-size <MiB>', 'target pack size in MiB', '16')
    .option('--compression <level>', 'zstd level 1-22, or "off"', '1')
    .action(async (flags, command) => {
      const globals = globalsOf(command);
      const packMiB = parseCount(flags.packSize, '--pack-size');
      if (packMiB < 1 || packMiB > 1024) throw new UsageError('--pack-size must be 1 to 1024 MiB');
      const level =
        flags.compression === 'off' ? 0 : parseCount(flags.compression, '--compression');
      if (level > 22) throw new UsageError('--compression must be 1 to 22, or "off"');
      const { repo, store } = await accessRepository(ctx, globals, {
        create: true,
        initOptions: { packSize: packMiB * 1024 * 1024, compressionLevel: level },
      });
      reporterFor(ctx, globals).result(
        { id: repo.config.id, location: store.name, keyId: repo.keyId },
        `created repository ${repo.config.id.slice(0, 8)} at ${store.name}\n` +
          'keep the password (or key file) safe: without it the data cannot be read\n',
      );
    });
};

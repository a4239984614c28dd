import { UsageError } from '../../errors.ts';
import { globalsOf } from '../context.ts';
import { accessRepository, parseCount, reporterFor } from '../repository-access.ts';
import type { RegisterCommand } from './index.ts';

const MiB = 1024 * 1024;

/** `hbr init`: creates a repository at the resolved location. */
export const registerInit: RegisterCommand = (program, ctx) => {
  program
    .command('init')
    .description(
      'create a new, empty repository (password from HBR_PASSWORD, --password-file or --key-file)',
    )
    .option(
      '--pack-size <MiB>',
      'target pack size in MiB (default: repository.packSize of the config, else 16)',
    )
    .option(
      '--compression <level>',
      'zstd level 1-22, or "off" (default: repository.compression of the config, else 1)',
    )
    .action(async (flags, command) => {
      const globals = globalsOf(command);
      const packMiB =
        flags.packSize === undefined ? undefined : parseCount(flags.packSize, '--pack-size');
      if (packMiB !== undefined && (packMiB < 1 || packMiB > 1024))
        throw new UsageError('--pack-size must be 1 to 1024 MiB');
      let level: number | undefined;
      if (flags.compression === 'off') level = 0;
      else if (flags.compression !== undefined)
        level = parseCount(flags.compression, '--compression');
      if (level !== undefined && level > 22)
        throw new UsageError('--compression must be 1 to 22, or "off"');
      const { repo, store } = await accessRepository(ctx, globals, {
        create: true,
        initOptions: (config) => {
          const packSize = packMiB === undefined ? config?.repository?.packSize : packMiB * MiB;
          const configured = config?.repository?.compression;
          const compressionLevel = level ?? (configured === 'off' ? 0 : configured);
          return {
            ...(packSize === undefined ? {} : { packSize }),
            ...(compressionLevel === undefined ? {} : { compressionLevel }),
          };
        },
      });
      reporterFor(ctx, globals).result(
        { id: repo.config.id, location: store.name, keyId: repo.keyId },
        `created repository ${repo.config.id.slice(0, 8)} at ${store.name}\n` +
          'keep the password (or key file) safe: without it the data cannot be read\n',
      );
    });
};

/**
 * restic with its defaults (repository format 2, compression `auto`, AES-256-CTR + Poly1305).
 * @module
 */
import { join } from 'node:path';
import type { ToolAdapter, ToolContext } from './types.ts';

const env = (ctx: ToolContext): Record<string, string> => ({
  RESTIC_REPOSITORY: ctx.repo,
  RESTIC_PASSWORD_FILE: ctx.passwordFile,
  RESTIC_CACHE_DIR: ctx.cache,
});

/** Creates the restic adapter. */
export function createRestic(): ToolAdapter {
  return {
    id: 'restic',
    description: 'restic, default compression (auto), encrypted',
    commands: new Map([['restic', 'restic']]),
    version: () => ({ file: 'restic', args: ['version'] }),
    init: (ctx) => ({ file: 'restic', args: ['init'], env: env(ctx) }),
    backup: (ctx, source) => ({
      file: 'restic',
      args: ['backup', '--host', 'bench', source],
      env: env(ctx),
    }),
    restore: (ctx, target) => ({
      file: 'restic',
      args: ['restore', 'latest', '--target', target],
      env: env(ctx),
    }),
    check: (ctx) => ({ file: 'restic', args: ['check', '--read-data'], env: env(ctx) }),
    // restic restores the absolute source path below the target.
    restoredRoot: (target, source) => Promise.resolve(join(target, source)),
  };
}

/**
 * hbr itself, run as a user would: `node bin/hbr.js <command> --repo DIR`, the password from
 * `HBR_PASSWORD_FILE`, its cache under `XDG_CACHE_HOME` of the run.
 * @module
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { ToolAdapter, ToolContext } from './types.ts';

const env = (ctx: ToolContext): Record<string, string> => ({
  HBR_PASSWORD_FILE: ctx.passwordFile,
  XDG_CACHE_HOME: ctx.cache,
});

/** Creates the hbr adapter. */
export function createHbr(): ToolAdapter {
  const hbr = (ctx: ToolContext, ...args: string[]) => ({
    file: process.execPath,
    args: [join(ctx.projectRoot, 'bin/hbr.js'), ...args, '--repo', ctx.repo, '--no-progress'],
    env: env(ctx),
  });
  return {
    id: 'hbr',
    description: 'hbr (this checkout), defaults, encrypted',
    commands: new Map(),
    version: (ctx) => ({
      file: 'git',
      args: ['-C', ctx.projectRoot, 'describe', '--always', '--dirty'],
    }),
    init: (ctx) => hbr(ctx, 'init'),
    backup: (ctx, source) => hbr(ctx, 'backup', source),
    restore: (ctx, target) => hbr(ctx, 'restore', 'latest', '--target', target),
    check: (ctx) => hbr(ctx, 'check', '--read-data'),
    // Either restic's layout (absolute path below the target) or the tree's content directly.
    restoredRoot: async (target, source) => {
      const nested = join(target, source);
      return access(nested).then(
        () => nested,
        () => target,
      );
    },
  };
}

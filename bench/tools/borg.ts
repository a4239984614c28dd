/**
 * BorgBackup 1.2 with `repokey` encryption (AES-256-CTR + HMAC-SHA256, the faster choice on
 * CPUs with SHA extensions) and a given compression (`zstd,3` or `lz4`).
 * @module
 */
import { join } from 'node:path';
import type { ToolAdapter, ToolContext } from './types.ts';

const env = (ctx: ToolContext): Record<string, string> => ({
  BORG_PASSPHRASE: ctx.password,
  // Keys, cache and security state under the run's scratch folder, not in ~/.config.
  BORG_BASE_DIR: ctx.cache,
  BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
});

/** Creates a borg adapter; `id` names it in the report (e.g. `borg-zstd3`). */
export function createBorg(id: string, compression: string): ToolAdapter {
  return {
    id,
    description: `borg, --compression ${compression}, repokey encryption`,
    commands: new Map([['borg', 'borgbackup']]),
    version: () => ({ file: 'borg', args: ['--version'] }),
    init: (ctx) => ({
      file: 'borg',
      args: ['init', '--encryption=repokey', ctx.repo],
      env: env(ctx),
    }),
    backup: (ctx, source, name) => ({
      file: 'borg',
      args: ['create', '--compression', compression, `${ctx.repo}::${name}`, source],
      env: env(ctx),
    }),
    // borg extracts into the working directory.
    restore: (ctx, target) => ({
      file: 'borg',
      args: ['extract', `${ctx.repo}::v2`],
      env: env(ctx),
      cwd: target,
    }),
    check: (ctx) => ({ file: 'borg', args: ['check', '--verify-data', ctx.repo], env: env(ctx) }),
    // borg stores the absolute path without its leading slash.
    restoredRoot: (target, source) => Promise.resolve(join(target, source)),
  };
}

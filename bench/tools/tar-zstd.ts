/**
 * The copy-and-compress reference the runbooks amount to: a full `tar | zstd -3 -T2` archive
 * per backup, extraction as the restore and `zstd -t` of every archive as the check. No
 * encryption and no deduplication: it is a floor for the work, not a competitor.
 * @module
 */
import type { ToolAdapter } from './types.ts';

/** Creates the tar + zstd reference. */
export function createTarZstd(): ToolAdapter {
  return {
    id: 'tar-zstd',
    description: 'tar | zstd -3 -T2, a full archive per backup, no encryption',
    commands: new Map([
      ['tar', 'tar'],
      ['zstd', 'zstd'],
    ]),
    version: () => ({ file: 'sh', args: ['-c', 'tar --version | head -1; zstd --version'] }),
    init: (ctx) => ({ file: 'mkdir', args: ['-p', ctx.repo] }),
    backup: (ctx, source, name) => ({
      file: 'bash',
      args: [
        '-o',
        'pipefail',
        '-c',
        'tar -cf - -C "$1" . | zstd -3 -T2 -q -o "$2"',
        'bash',
        source,
        `${ctx.repo}/${name}.tar.zst`,
      ],
    }),
    restore: (ctx, target) => ({
      file: 'bash',
      args: [
        '-o',
        'pipefail',
        '-c',
        'zstd -dc "$1" | tar -xf - -C "$2"',
        'bash',
        `${ctx.repo}/v2.tar.zst`,
        target,
      ],
    }),
    check: (ctx) => ({ file: 'sh', args: ['-c', 'zstd -t -q "$1"/*.tar.zst', 'sh', ctx.repo] }),
    restoredRoot: (target) => Promise.resolve(target),
  };
}

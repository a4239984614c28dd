/**
 * Every benchmarked tool, by id.
 * @module
 */
import { createBorg } from './borg.ts';
import { createHbr } from './hbr.ts';
import { createRestic } from './restic.ts';
import { createTarZstd } from './tar-zstd.ts';
import type { ToolAdapter } from './types.ts';

export type { BackupName, ToolAdapter, ToolContext } from './types.ts';

/** All adapters, in the order they run (and appear in the report). */
export function allTools(): ToolAdapter[] {
  return [
    createHbr(),
    createRestic(),
    createBorg('borg-zstd3', 'zstd,3'),
    createBorg('borg-lz4', 'lz4'),
    createTarZstd(),
  ];
}

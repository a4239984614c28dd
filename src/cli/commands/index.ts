import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../context.ts';

/**
 * Adds one command to the program. `setExitCode` lets a command finish with a non-error code
 * (3: partial) while still printing its normal output.
 */
export type RegisterCommand = (
  program: Command<[], { repo?: string; config?: string; passwordFile?: string; keyFile?: string; json?: true; progress: boolean }>,
  ctx: CliContext,
  setExitCode: (code: number) => void,
) => void;

/** Every command of the CLI, one file each under this folder. Add new ones here. */
export const commands: RegisterCommand[] = [];

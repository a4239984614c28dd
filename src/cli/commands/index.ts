import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../context.ts';
import { registerSqlserver } from './sqlserver.ts';

/**
 * Adds one command to the program. `setExitCode` lets a command finish with a non-error code
 * (3: partial) while still printing its normal output.
 */
export type RegisterCommand = (
  program: Command,
  ctx: CliContext,
  setExitCode: (code: number) => void,
) => void;

/** Every command of the CLI, one file each under this folder. Add new ones here. */
export const commands: RegisterCommand[] = [registerSqlserver];

import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../context.ts';
import { registerBackup } from './backup.ts';
import { registerBackups } from './backups.ts';
import { registerBrowse } from './browse.ts';
import { registerCheck } from './check.ts';
import { registerDemo } from './demo.ts';
import { registerInit } from './init.ts';
import { registerKey } from './key.ts';
import { registerMaintain } from './maintain.ts';
import { registerMaintenance } from './maintenance.ts';
import { registerReplicate } from './replicate.ts';
import { registerRestore } from './restore.ts';
import { registerSqlserver } from './sqlserver.ts';
import { registerVerify } from './verify.ts';

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
export const commands: RegisterCommand[] = [
  registerInit,
  registerBackup,
  registerBackups,
  registerBrowse,
  registerRestore,
  registerCheck,
  registerMaintenance,
  registerReplicate,
  registerMaintain,
  registerKey,
  registerDemo,
  registerSqlserver,
  registerVerify,
];

import type { Command } from '@commander-js/extra-typings';
import type { CliContext } from '../context.ts';

/**
 * Adds one command to the program. `setExitCode` lets a command finish with a non-error code
 * (3: partial) while still printing its normal output.
 */
export type RegisterCommand = (
  program: Command,
  ctx: CliContext,
  setExitCode: (code: number) => void,
) => void;

/**
 * One command file: the top-level command names it registers and how to load it. Loading on
 * demand keeps `hbr backup` from importing the Neo4j driver, the SQL Server client and every
 * other command's code before it starts.
 */
export interface CommandEntry {
  /** The top-level names its register function adds (`index.test.ts` keeps them honest). */
  readonly names: readonly string[];
  /** Imports the command file and returns its register function. */
  readonly load: () => Promise<RegisterCommand>;
}

/** Every command of the CLI, one file each under this folder, in help order. Add new ones here. */
export const commands: readonly CommandEntry[] = [
  { names: ['init'], load: async () => (await import('./init.ts')).registerInit },
  { names: ['backup'], load: async () => (await import('./backup.ts')).registerBackup },
  { names: ['backups'], load: async () => (await import('./backups.ts')).registerBackups },
  { names: ['ls', 'diff'], load: async () => (await import('./browse.ts')).registerBrowse },
  { names: ['restore'], load: async () => (await import('./restore.ts')).registerRestore },
  { names: ['check'], load: async () => (await import('./check.ts')).registerCheck },
  {
    names: ['forget', 'prune', 'unlock'],
    load: async () => (await import('./maintenance.ts')).registerMaintenance,
  },
  { names: ['replicate'], load: async () => (await import('./replicate.ts')).registerReplicate },
  { names: ['maintain'], load: async () => (await import('./maintain.ts')).registerMaintain },
  { names: ['key'], load: async () => (await import('./key.ts')).registerKey },
  { names: ['demo'], load: async () => (await import('./demo.ts')).registerDemo },
  { names: ['sqlserver'], load: async () => (await import('./sqlserver.ts')).registerSqlserver },
  { names: ['verify'], load: async () => (await import('./verify.ts')).registerVerify },
];

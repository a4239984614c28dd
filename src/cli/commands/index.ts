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
  /** Its commands open an existing repository: the key derivation may start before it loads. */
  readonly unlocks?: boolean;
}

/** Every command of the CLI, one file each under this folder, in help order. Add new ones here. */
export const commands: readonly CommandEntry[] = [
  { names: ['init'], load: async () => (await import('./init.ts')).registerInit },
  {
    names: ['backup'],
    load: async () => (await import('./backup.ts')).registerBackup,
    unlocks: true,
  },
  {
    names: ['backups'],
    load: async () => (await import('./backups.ts')).registerBackups,
    unlocks: true,
  },
  {
    names: ['ls', 'diff'],
    load: async () => (await import('./browse.ts')).registerBrowse,
    unlocks: true,
  },
  {
    names: ['restore'],
    load: async () => (await import('./restore.ts')).registerRestore,
    unlocks: true,
  },
  { names: ['check'], load: async () => (await import('./check.ts')).registerCheck, unlocks: true },
  {
    names: ['forget', 'prune', 'unlock'],
    load: async () => (await import('./maintenance.ts')).registerMaintenance,
    unlocks: true,
  },
  {
    names: ['repair'],
    load: async () => (await import('./repair.ts')).registerRepair,
    unlocks: true,
  },
  {
    names: ['replicate'],
    load: async () => (await import('./replicate.ts')).registerReplicate,
    unlocks: true,
  },
  {
    names: ['maintain'],
    load: async () => (await import('./maintain.ts')).registerMaintain,
    unlocks: true,
  },
  { names: ['key'], load: async () => (await import('./key.ts')).registerKey, unlocks: true },
  { names: ['demo'], load: async () => (await import('./demo.ts')).registerDemo },
  { names: ['sqlserver'], load: async () => (await import('./sqlserver.ts')).registerSqlserver },
  {
    names: ['verify'],
    load: async () => (await import('./verify.ts')).registerVerify,
    unlocks: true,
  },
];

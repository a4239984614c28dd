/**
 * The interface every benchmarked tool implements: how to run each step as a command line.
 * Adapters only build commands; the harness runs and measures them.
 * @module
 */
import type { CommandSpec } from '../measure.ts';

/** Where one tool's run keeps its things. Everything here is fresh for each run. */
export interface ToolContext {
  /** The repository folder (does not exist before `init`). */
  readonly repo: string;
  /** A scratch folder for the tool's cache and config, so no run inherits another's. */
  readonly cache: string;
  /** A file holding the repository password. */
  readonly passwordFile: string;
  /** The password itself, for tools that only take it from the environment. */
  readonly password: string;
  /** The hbr checkout, for `node bin/hbr.js`. */
  readonly projectRoot: string;
}

/** Names of the backups a run makes, in order: first, unchanged again, version 2. */
export type BackupName = 'v1' | 'v1-again' | 'v2';

/** One benchmarked tool. */
export interface ToolAdapter {
  /** Short id used in `--tools` and the report, e.g. `borg-zstd3`. */
  readonly id: string;
  /** What the configuration is, for the report ("restic, default compression (auto)"). */
  readonly description: string;
  /** Commands the tool needs, with the Debian package that provides each. */
  readonly commands: ReadonlyMap<string, string>;
  /** The command that prints the tool's version. */
  version(ctx: ToolContext): CommandSpec;
  /** Creates the repository; `undefined` when there is nothing to create. */
  init(ctx: ToolContext): CommandSpec | undefined;
  /** Backs up the folder `source` (absolute) as backup `name`. */
  backup(ctx: ToolContext, source: string, name: BackupName): CommandSpec;
  /** Restores the latest backup (version 2) into the empty folder `target`. */
  restore(ctx: ToolContext, target: string): CommandSpec;
  /** Verifies the repository, reading all stored data. */
  check(ctx: ToolContext): CommandSpec;
  /**
   * Where the restored copy of `source` sits under `target` (restic and borg recreate the
   * absolute path); may look at the disk, since it runs after the restore.
   */
  restoredRoot(target: string, source: string): Promise<string>;
}

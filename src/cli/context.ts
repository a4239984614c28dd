import type { Writable } from 'node:stream';

/**
 * What a command needs from the outside world, passed in so tests run commands in-process.
 */
export interface CliContext {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM; every long operation takes it. */
  readonly signal: AbortSignal;
  /** Whether stderr is a terminal (progress bars) rather than a pipe or file. */
  readonly isTTY: boolean;
}

/** The global options every command sees (declared on the root program). */
export interface GlobalOptions {
  repo?: string;
  config?: string;
  passwordFile?: string;
  keyFile?: string;
  json?: boolean;
  progress?: boolean;
}

/** The global options (`--repo`, `--json`, …) as seen from inside a subcommand's action. */
export function globalsOf(command: { optsWithGlobals(): object }): GlobalOptions {
  return command.optsWithGlobals();
}

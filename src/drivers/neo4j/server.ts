/**
 * Controls one Neo4j server process: is it running, stop it cleanly, start it, wait until Bolt
 * answers. Stopping never uses SIGKILL: a killed server leaves a store that needs recovery, which
 * `dump` refuses (research §1.2, §1.10). A server that will not stop is an error for a human.
 * @module
 */
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beginCriticalWork } from '../../util/critical-work.ts';
import { SourceError } from '../../errors.ts';
import { boltError, isAuthError, openBolt, type BoltOptions } from './bolt.ts';
import { isProcessAlive } from '../../util/process.ts';

/** How to control a server. */
export interface Neo4jServerOptions {
  /** NEO4J_HOME. */
  readonly home: string;
  /** @default `<home>/conf` */
  readonly conf?: string;
  readonly bolt: BoltOptions;
  /** Database that must answer before the server counts as ready. @default 'neo4j' */
  readonly database?: string;
  /** Starts the server in the background. @default [`<home>/bin/neo4j`, 'start'] */
  readonly startCommand?: readonly string[];
  /**
   * Stops the server and returns once it is down. When absent, SIGTERM goes to the pid in
   * `pidFile` (the process `neo4j start` launched) and we wait for it to exit.
   */
  readonly stopCommand?: readonly string[];
  /** @default `<home>/run/neo4j.pid` */
  readonly pidFile?: string;
  /** How long a clean stop may take. @default 120000 (Neo4j's own NEO4J_SHUTDOWN_TIMEOUT) */
  readonly stopTimeoutMs?: number;
  /** How long start may take until Bolt answers. @default 180000 */
  readonly startTimeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
}

/** One server's controls. */
export interface Neo4jServer {
  /** The pid of the running server, or undefined. */
  pid(): Promise<number | undefined>;
  /**
   * Stops the server cleanly; a no-op when it is not running.
   * @throws SourceError when it is still running after `stopTimeoutMs` (never escalates to SIGKILL).
   */
  stop(options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Starts the server (a no-op when running) and waits for Bolt. `onSpawned` runs once the start
   * command has been spawned (what this process does next, such as lowering its priority, no
   * longer passes on to the server), or at once when the server runs already.
   * @throws SourceError when the start command fails, the server exits, or Bolt stays silent.
   */
  start(options?: {
    signal?: AbortSignal;
    onSpawned?: () => void;
    /** Run the start command held by {@link Neo4jServer.holdStart} instead of spawning it. */
    held?: HeldStart;
  }): Promise<void>;
  /**
   * Spawns the start command now but holds it until `start` runs it (POSIX: a shell waits for
   * a word on its stdin, then becomes the command). A process keeps the priority of the thread
   * that spawned it, so the server starts at this process's present priority even when the
   * process has stepped back meanwhile without the privilege to step forward (`priority.ts`).
   * {@link HeldStart.cancel} it when it goes unused. It takes no signal: it must still run after
   * the work between stop and start was cancelled (see {@link restartSignal}); a held command
   * whose parent dies reads the end of its stdin and exits without running.
   */
  holdStart(): HeldStart;
  /**
   * Waits until `RETURN 1` succeeds on the database over Bolt.
   * @throws SourceError at once on rejected credentials; after the timeout otherwise.
   */
  waitForBolt(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>;
  /** The server's version from `dbms.components()` (the server must be running). */
  version(): Promise<{ version: string; edition: string }>;
}

/** A start command spawned ahead, waiting (see {@link Neo4jServer.holdStart}). */
export interface HeldStart {
  /** Ends the held command without running it; a no-op once it ran. */
  cancel(): void;
}

/** Creates the controls; touches nothing until called. */
export function createNeo4jServer(options: Neo4jServerOptions): Neo4jServer {
  const home = options.home;
  const env = { ...options.env, NEO4J_HOME: home, NEO4J_CONF: options.conf ?? join(home, 'conf') };
  const pidFile = options.pidFile ?? join(home, 'run', 'neo4j.pid');
  const database = options.database ?? 'neo4j';
  const startCommand = options.startCommand ?? [join(home, 'bin', 'neo4j'), 'start'];
  const heldStarts = new WeakMap<HeldStart, { run(): ResultPromise | undefined; cancel(): void }>();

  const pid = async (): Promise<number | undefined> => {
    const text = await readFile(pidFile, 'utf8').catch(() => '');
    const n = Number.parseInt(text.trim(), 10);
    return Number.isInteger(n) && n > 0 && isProcessAlive(n) && (await _isNeo4j(n)) ? n : undefined;
  };

  const waitForBolt = async (o: { signal?: AbortSignal; timeoutMs?: number } = {}) => {
    const deadline = Date.now() + (o.timeoutMs ?? options.startTimeoutMs ?? 180_000);
    // One attempt per poll: the driver's own retries would sleep up to seconds after the server
    // answers.
    const driver = openBolt(options.bolt, { retry: false });
    try {
      for (;;) {
        o.signal?.throwIfAborted();
        try {
          await driver.executeQuery('RETURN 1', {}, { database });
          return;
        } catch (error) {
          if (isAuthError(error)) throw boltError(options.bolt, 'connect', error);
          if (Date.now() > deadline)
            throw boltError(options.bolt, 'no answer before timeout', error);
        }
        // Every poll costs the starting server a refused connection or a failed query, little
        // next to the downtime each interval may add.
        await sleep(BOLT_POLL_MS, undefined, { signal: o.signal });
      }
    } finally {
      await driver.close();
    }
  };

  // Set from a stop until the start after it has ended (see critical-work.ts).
  let restarting: (() => void) | undefined;
  const startServer = async (o: Parameters<Neo4jServer['start']>[0] = {}): Promise<void> => {
    const held = o.held === undefined ? undefined : heldStarts.get(o.held);
    if ((await pid()) === undefined) {
      const command = held?.run() ?? spawnCommand(startCommand, env, o.signal, 'start');
      // execa spawns before it returns: the hook runs once the command runs, before it ends.
      o.onSpawned?.();
      await commandResult(command, startCommand, 'start');
    } else {
      held?.cancel();
      o.onSpawned?.();
    }
    await waitForBolt(o);
  };

  return {
    pid,
    waitForBolt,
    async stop(o = {}) {
      const running = await pid();
      if (running === undefined) return;
      // Every stop of hbr's is followed by a start, which a second Ctrl-C must not cut short.
      restarting ??= beginCriticalWork(`the Neo4j server of ${home} is down until hbr starts it`);
      if (options.stopCommand !== undefined) {
        await runCommand(options.stopCommand, env, o.signal, 'stop');
      } else {
        process.kill(running, 'SIGTERM');
      }
      const deadline = Date.now() + (options.stopTimeoutMs ?? 120_000);
      while (isProcessAlive(running)) {
        if (Date.now() > deadline) {
          throw new SourceError(
            `[neo4j] server pid ${running} (${home}) did not stop within ` +
              `${Math.round((options.stopTimeoutMs ?? 120_000) / 1000)} s after SIGTERM; not killing it ` +
              '(a killed server leaves a store that needs recovery): investigate logs/debug.log',
          );
        }
        await sleep(EXIT_POLL_MS, undefined, { signal: o.signal });
      }
    },
    async start(o = {}) {
      try {
        await startServer(o);
      } finally {
        restarting?.();
        restarting = undefined;
      }
    },
    holdStart() {
      const [file, ...args] = commandParts(startCommand, 'start');
      // In a session of its own: a terminal's Ctrl-C signals hbr's whole process group, and the
      // start held for a server stopped meanwhile must outlive it to start that server again.
      const shell = execa('sh', ['-c', HOLD_SCRIPT, 'hbr-neo4j-start', file, ...args], {
        env,
        stdin: 'pipe',
        detached: true,
      });
      let settled = false;
      const cancel = (): void => {
        if (settled) return;
        settled = true;
        shell.catch(() => undefined); // it exits 1 on the empty stdin, as meant
        shell.stdin.end();
      };
      const run = (): ResultPromise | undefined => {
        if (settled) return undefined;
        settled = true;
        shell.stdin.end(`${HOLD_WORD}\n`);
        return shell;
      };
      const handle: HeldStart = { cancel };
      heldStarts.set(handle, { run, cancel });
      return handle;
    },
    async version() {
      const driver = openBolt(options.bolt);
      try {
        const { records } = await driver.executeQuery(
          'CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition',
          {},
          { database: 'system' },
        );
        const r = records[0];
        if (!r)
          throw new SourceError(`[neo4j] ${options.bolt.url}: dbms.components() returned nothing`);
        return { version: String(r.get('v')), edition: String(r.get('edition')) };
      } catch (error) {
        throw error instanceof SourceError ? error : boltError(options.bolt, 'read version', error);
      } finally {
        await driver.close();
      }
    },
  };
}

/**
 * The signal for starting a server again that a backup or restore stopped: a timeout of its own.
 * Never the caller's signal: when the work was cancelled (Ctrl-C), that signal is aborted already
 * and would kill the start at once, leaving the server down.
 */
export function restartSignal(): AbortSignal {
  return AbortSignal.timeout(RESTART_TIMEOUT_MS);
}

// --- internal ---

/**
 * Whether process `pid` is a Neo4j server, where Linux tells (`/proc/PID/cmdline`): a pid file
 * that a crashed server left behind may name a pid another process has since been given, and
 * that one must not get the stop's SIGTERM. Elsewhere the pid file is trusted.
 */
async function _isNeo4j(pid: number): Promise<boolean> {
  try {
    return /neo4j/i.test(await readFile(`/proc/${pid}/cmdline`, 'latin1'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ESRCH' ? true : !existsSync('/proc/self/cmdline');
  }
}

/**
 * How long a start after a stop may take, command and Bolt together; beyond the server's own
 * Bolt deadline (default 3 minutes), it only bounds a start command that hangs.
 */
const RESTART_TIMEOUT_MS = 10 * 60_000;

/** How often Bolt is tried while the server starts. */
const BOLT_POLL_MS = 100;
/** How often the stopping server's pid is checked (a signal 0, nothing more). */
const EXIT_POLL_MS = 50;

async function runCommand(
  argv: readonly string[],
  env: Record<string, string>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<void> {
  await commandResult(spawnCommand(argv, env, signal, what), argv, what);
}

/** Spawns a stop or start command (execa spawns before it returns). */
function spawnCommand(
  argv: readonly string[],
  env: Record<string, string>,
  signal: AbortSignal | undefined,
  what: string,
): ResultPromise {
  const [file, ...args] = commandParts(argv, what);
  return execa(file, args, { env, stdin: 'ignore', ...(signal ? { cancelSignal: signal } : {}) });
}

/** `argv` as file and arguments. @throws SourceError when it is empty. */
function commandParts(argv: readonly string[], what: string): [string, ...string[]] {
  const [file, ...args] = argv;
  if (file === undefined) throw new SourceError(`[neo4j] empty ${what} command`);
  return [file, ...args];
}

/** Waits for a command; a failure becomes a SourceError naming it and its last words. */
async function commandResult(
  command: ResultPromise,
  argv: readonly string[],
  what: string,
): Promise<void> {
  try {
    await command;
  } catch (error) {
    const e = error as { code?: string; stderr?: string; stdout?: string; exitCode?: number };
    const detail =
      e.code === 'ENOENT'
        ? 'command not found'
        : `exit ${e.exitCode ?? '?'}: ${(e.stderr || e.stdout || '').trim().split('\n').slice(-5).join('\n')}`;
    throw new SourceError(`[neo4j] ${what} (${argv.join(' ')}): ${detail}`, { cause: error });
  }
}

/** The word a held start waits for; anything else, or none, ends it without running. */
const HOLD_WORD = 'start';
/** `sh -c` for a held start: reads a line and, when it is the word, becomes the command. */
const HOLD_SCRIPT = `read -r word && [ "$word" = ${HOLD_WORD} ] && exec "$@"`;

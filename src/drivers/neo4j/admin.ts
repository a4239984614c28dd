/**
 * Runs `neo4j-admin` of one Neo4j installation: version, `database info`, `database check`, and
 * the raw process runner the dump/load streams build on. Every command runs with the
 * installation's `NEO4J_HOME`/`NEO4J_CONF`, because admin commands read the server's config and
 * must act on the same store as the server (research §1.11, §7 step 12).
 * @module
 */
import { constants } from 'node:fs';
import { access, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execa, type ResultPromise } from 'execa';
import { join, resolve } from 'node:path';
import { SourceError } from '../../errors.ts';
import { parseStoreInfo, parseStoreInfos, type StoreInfo } from './store-state.ts';

/** Where and how to run neo4j-admin. */
export interface Neo4jAdminOptions {
  /** NEO4J_HOME of the installation whose store the commands act on. */
  readonly home: string;
  /** NEO4J_CONF. @default `<home>/conf` */
  readonly conf?: string;
  /** The neo4j-admin executable. @default `<home>/bin/neo4j-admin` */
  readonly command?: string;
  /** Extra environment, e.g. `JAVA_HOME` or `HEAP_SIZE`. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Output of a finished admin command. */
export interface AdminResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Result of `neo4j-admin database check`. */
export interface CheckResult {
  readonly consistent: boolean;
  /** The checker's console output. */
  readonly output: string;
  /** The inconsistency report the checker wrote (inconsistent stores only). */
  readonly reportPath?: string;
}

/** One installation's neo4j-admin. */
export interface Neo4jAdmin {
  readonly command: string;
  readonly home: string;
  /**
   * Runs `neo4j-admin <args>` to completion.
   * @throws SourceError when the executable is missing or exits non-zero (message has stderr's tail).
   */
  run(args: readonly string[], options?: { signal?: AbortSignal }): Promise<AdminResult>;
  /**
   * Starts `neo4j-admin <args>` with piped stdin/stdout and returns the running process; callers
   * stream through `stdin`/`stdout` and await it. stderr is buffered (dump/load write progress there).
   */
  spawn(
    args: readonly string[],
    options?: { signal?: AbortSignal; stdin?: boolean },
  ): ResultPromise;
  /**
   * The Neo4j version of the admin tool, e.g. `5.26.30`. For the installation's own
   * `bin/neo4j-admin` it is read from the kernel jar's name in the lib folder the server uses
   * (`server.directories.lib`, default `<home>/lib`), without starting a JVM (about a second of
   * CPU before every dump backup); `neo4j-admin --version` otherwise, or when the folder does not
   * name exactly one version.
   * @throws SourceError when neo4j-admin is missing or not executable, or prints no version.
   */
  version(options?: { signal?: AbortSignal }): Promise<string>;
  /**
   * The databases `database dump '*'` dumps: the folders of the store's databases directory
   * (`<server.directories.data>/databases`, as neo4j-admin lists it), read without a JVM or a
   * query (`SHOW DATABASES` costs seconds on a server that just started). Undefined when the
   * folder cannot be read.
   */
  storeDatabases(): Promise<string[] | undefined>;
  /**
   * `database info` of a database of the local store (the server may be running: `inUse` says so).
   * @throws SourceError when the command fails or prints no JSON.
   */
  info(database: string, options?: { signal?: AbortSignal }): Promise<StoreInfo>;
  /**
   * `database info` of every database of the local store, in one JVM.
   * @throws SourceError when the command fails or prints no JSON.
   */
  infoAll(options?: { signal?: AbortSignal }): Promise<StoreInfo[]>;
  /**
   * Consistency check of a stopped local database, or of `<fromPath>/<database>.dump` when
   * `fromPath` is given. An inconsistent store is a result, not an error.
   * @throws SourceError when the checker cannot run at all (missing tool, database in use).
   */
  check(database: string, options?: CheckOptions): Promise<CheckResult>;
}

/** Options of {@link Neo4jAdmin.check}. */
export interface CheckOptions {
  /** Directory holding `<database>.dump` (or a backup); the live store is checked when absent. */
  readonly fromPath?: string;
  readonly tempPath?: string;
  readonly reportPath?: string;
  /** @default '256m' (the tool's own default is 90% of free RAM) */
  readonly maxOffHeapMemory?: string;
  /** @default 2 */
  readonly threads?: number;
  readonly signal?: AbortSignal;
}

/** Creates the runner for one installation's neo4j-admin. Spawns nothing until called. */
export function createNeo4jAdmin(options: Neo4jAdminOptions): Neo4jAdmin {
  const command = options.command ?? join(options.home, 'bin', 'neo4j-admin');
  const env = {
    ...options.env,
    NEO4J_HOME: options.home,
    NEO4J_CONF: options.conf ?? join(options.home, 'conf'),
  };
  const spawn = (args: readonly string[], o: { signal?: AbortSignal; stdin?: boolean } = {}) =>
    execa(command, args, {
      env,
      stdin: o.stdin === true ? 'pipe' : 'ignore',
      buffer: { stdout: false, stderr: true },
      reject: true,
      ...(o.signal ? { cancelSignal: o.signal } : {}),
    });
  const run = async (args: readonly string[], o: { signal?: AbortSignal } = {}) => {
    try {
      const r = await execa(command, args, { env, stdin: 'ignore', ...cancel(o.signal) });
      return { stdout: r.stdout, stderr: r.stderr };
    } catch (error) {
      throw adminError(command, args, error);
    }
  };
  return {
    command,
    home: options.home,
    run,
    spawn,
    async version(o) {
      if (options.command === undefined) {
        const fromLib = await libVersion(options.home, env.NEO4J_CONF);
        if (fromLib !== undefined) {
          // Still refuse a missing tool before anything is stopped, as `--version` would.
          await access(command, constants.X_OK).catch((error: unknown) => {
            throw adminError(command, ['--version'], error);
          });
          return fromLib;
        }
      }
      const { stdout } = await run(['--version'], o ?? {});
      const match = /\d+\.\d+\.\d+/.exec(stdout);
      if (!match) throw new SourceError(`[neo4j:admin] ${command} --version printed no version`);
      return match[0];
    },
    async storeDatabases() {
      const data = await confDirectory(options.home, env.NEO4J_CONF, 'data', 'data', ADMIN_CONFS);
      const entries = await readdir(join(data, 'databases'), { withFileTypes: true }).catch(
        () => undefined,
      );
      return entries?.filter((e) => e.isDirectory()).map((e) => e.name);
    },
    async info(database, o) {
      const { stdout } = await run(['database', 'info', '--format=json', database], o ?? {});
      return parseStoreInfo(stdout, database);
    },
    async infoAll(o) {
      const { stdout } = await run(['database', 'info', '--format=json', '*'], o ?? {});
      return parseStoreInfos(stdout);
    },
    async check(database, o = {}) {
      const args = ['database', 'check', database];
      args.push(
        `--max-off-heap-memory=${o.maxOffHeapMemory ?? '256m'}`,
        `--threads=${o.threads ?? 2}`,
      );
      if (o.fromPath !== undefined) args.push(`--from-path=${o.fromPath}`);
      if (o.tempPath !== undefined) args.push(`--temp-path=${o.tempPath}`);
      // neo4j-admin writes its inconsistency report into the working directory unless told.
      args.push(`--report-path=${o.reportPath ?? o.tempPath ?? tmpdir()}`);
      const r = await execa(command, args, {
        env,
        stdin: 'ignore',
        reject: false,
        all: true,
        ...cancel(o.signal),
      });
      const output = r.all ?? '';
      if (r.exitCode === 0) return { consistent: true, output };
      // Exit 1 with "Inconsistencies found. See '<report>'" is a result; anything else (missing
      // tool, database in use, unreadable dump, cancel) is an error.
      const report = /Inconsistencies found\. See '([^']+)'/.exec(output);
      if (r.exitCode !== 1 || report === null) throw adminError(command, args, r);
      return { consistent: false, output, reportPath: report[1] };
    },
  };
}

/**
 * Turns an execa failure of neo4j-admin into a SourceError naming the command and what went wrong.
 */
export function adminError(command: string, args: readonly string[], error: unknown): SourceError {
  const e = error as {
    code?: string;
    exitCode?: number;
    stderr?: unknown;
    all?: unknown;
    isCanceled?: boolean;
  };
  const what = `[neo4j:admin] ${args.slice(0, 3).join(' ')}`;
  if (e.code === 'ENOENT' || e.code === 'EACCES') {
    return new SourceError(
      `${what}: neo4j-admin not found or not executable at ${command} (${e.code}); ` +
        "install Neo4j there or set the source's neo4j admin command",
      { cause: error },
    );
  }
  if (e.isCanceled === true) return new SourceError(`${what}: cancelled`, { cause: error });
  const text =
    typeof e.stderr === 'string' && e.stderr !== ''
      ? e.stderr
      : typeof e.all === 'string'
        ? e.all
        : '';
  const tail = text.trim().split('\n').slice(-8).join('\n');
  return new SourceError(`${what}: exit ${e.exitCode ?? '?'}: ${tail}`, { cause: error });
}

// --- internal ---

/** `neo4j-kernel-<version>.jar`: the jar whose version `neo4j-admin --version` prints. */
const KERNEL_JAR = /^neo4j-kernel-(\d+\.\d+\.\d+)\.jar$/;

/**
 * The version the kernel jar's name says, in the lib folder of `<conf>/neo4j.conf`
 * (`server.directories.lib`, relative to the home) or `<home>/lib`; undefined when the folder
 * is missing or holds no kernel jar or several versions.
 */
async function libVersion(home: string, conf: string): Promise<string | undefined> {
  const lib = await confDirectory(home, conf, 'lib', 'lib', ['neo4j.conf']);
  const names = await readdir(lib).catch(() => [] as string[]);
  const versions = new Set(names.flatMap((n) => KERNEL_JAR.exec(n)?.[1] ?? []));
  return versions.size === 1 ? [...versions][0] : undefined;
}

/**
 * The config files `neo4j-admin database dump` reads, in order (a later one's setting wins): the
 * server's, then the admin tool's own and the dump command's.
 */
const ADMIN_CONFS = ['neo4j.conf', 'neo4j-admin.conf', 'neo4j-admin-database-dump.conf'];

/**
 * `server.directories.<name>` resolved against the home: its last setting in `files` (in `conf`),
 * or `fallback`.
 */
async function confDirectory(
  home: string,
  conf: string,
  name: string,
  fallback: string,
  files: readonly string[],
): Promise<string> {
  const key = new RegExp(`^\\s*server\\.directories\\.${name}\\s*=\\s*(.*?)\\s*$`, 'gm');
  let configured: string | undefined;
  for (const file of files) {
    const text = await readFile(join(conf, file), 'utf8').catch(() => '');
    configured = [...text.matchAll(key)].at(-1)?.[1] || configured;
  }
  return resolve(home, configured || fallback);
}

function cancel(signal: AbortSignal | undefined): { cancelSignal?: AbortSignal } {
  return signal ? { cancelSignal: signal } : {};
}

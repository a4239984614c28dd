/**
 * From a `neo4j:` source of `hbr.yaml` to the driver's objects: Bolt credentials from the
 * credential file, the server controls (configured stop/start shell commands, else SIGTERM and
 * `bin/neo4j start`), neo4j-admin of the same home. A scratch home (restore drills) gets its own
 * controls and its Bolt address from its own `neo4j.conf`.
 * @module
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, UsageError } from '../../errors.ts';
import { createNeo4jAdmin, type Neo4jAdmin } from './admin.ts';
import type { Neo4jBackupMode } from './backup.ts';
import type { BoltOptions } from './bolt.ts';
import type { CypherCheck } from './cypher-checks.ts';
import {
  resolveEnterpriseSettings,
  type EnterpriseSettings,
  type Neo4jEnterpriseBlock,
} from './enterprise-config.ts';
import { createNeo4jServer, type Neo4jServer } from './server.ts';

/** The `neo4j:` block of a source, as the config schema parses it. */
export interface Neo4jSourceBlock {
  readonly home: string;
  readonly bolt: string;
  readonly database: string;
  readonly credentialFile?: string | undefined;
  readonly mode?: 'dump' | 'logical' | 'enterprise' | undefined;
  readonly enterprise?: Neo4jEnterpriseBlock | undefined;
  readonly stopCommand?: string | undefined;
  readonly startCommand?: string | undefined;
  readonly adminCommand?: string | undefined;
  readonly spoolDir?: string | undefined;
  readonly checks?: readonly CypherCheck[] | undefined;
}

/** Everything a Neo4j command needs about one source (or one scratch home of it). */
export interface ResolvedNeo4jSource {
  readonly name: string;
  readonly home: string;
  readonly mode: Neo4jBackupMode;
  readonly databases: readonly string[];
  readonly bolt: BoltOptions;
  readonly server: Neo4jServer;
  readonly admin: Neo4jAdmin;
  readonly checks: readonly CypherCheck[];
  /** Settings of `mode: enterprise` (absent for the other modes). */
  readonly enterprise?: EnterpriseSettings;
  /** Dump mode: where dumps wait while the server starts; absent: streamed, no temp file. */
  readonly spoolDir?: string;
  /** The commands that stop and start the server, for dry runs. */
  readonly commands: { readonly stop: string; readonly start: string };
}

/**
 * Reads the credential file and builds the driver objects. With `scratchHome`, the server and
 * neo4j-admin are those of that home (configured stop/start commands do not apply there) and Bolt
 * is `scratchBolt`, else the `server.bolt.listen_address` of its `conf/neo4j.conf`.
 * @throws ConfigError when the credential file is unreadable or malformed, or `mode: enterprise`
 *   and the `enterprise:` block do not go together; UsageError when a scratch home has no Bolt address.
 */
export async function resolveNeo4jSource(
  name: string,
  block: Neo4jSourceBlock,
  configFile: string,
  env: NodeJS.ProcessEnv,
  options: { scratchHome?: string; scratchBolt?: string } = {},
): Promise<ResolvedNeo4jSource> {
  const base = path.dirname(configFile);
  const key = `sources.${name}.neo4j`;
  const mode = block.mode ?? 'dump';
  const enterprise = resolveEnterpriseSettings(mode, block.enterprise, configFile, key);
  const { user, password } = await readCredentials(block, base, configFile, key, env);
  const scratch = options.scratchHome !== undefined;
  const home = path.resolve(base, options.scratchHome ?? block.home);
  const url = scratch ? (options.scratchBolt ?? (await boltFromConf(home))) : block.bolt;
  const bolt: BoltOptions = { url, user, password };
  const sh = (cmd: string | undefined) => (cmd === undefined ? undefined : ['sh', '-c', cmd]);
  const stop = scratch ? undefined : block.stopCommand;
  const start = scratch ? undefined : block.startCommand;
  const server = createNeo4jServer({
    home,
    bolt,
    database: block.database,
    ...(stop !== undefined ? { stopCommand: sh(stop) } : {}),
    ...(start !== undefined ? { startCommand: sh(start) } : {}),
  });
  const adminCommand =
    block.adminCommand !== undefined && !scratch
      ? path.resolve(base, block.adminCommand)
      : undefined;
  const admin = createNeo4jAdmin({ home, ...(adminCommand ? { command: adminCommand } : {}) });
  return {
    name,
    home,
    mode,
    databases: [block.database],
    bolt,
    server,
    admin,
    checks: block.checks ?? [],
    ...(enterprise !== undefined ? { enterprise } : {}),
    ...(block.spoolDir !== undefined ? { spoolDir: path.resolve(base, block.spoolDir) } : {}),
    commands: {
      stop: stop ?? `SIGTERM to the pid in ${path.join(home, 'run', 'neo4j.pid')}`,
      start: start ?? `${path.join(home, 'bin', 'neo4j')} start`,
    },
  };
}

// --- internal ---

/**
 * Credentials: JSON `{"user","password"}` or `user` and `password` on two lines; without a file,
 * `HBR_NEO4J_USER` (default `neo4j`) and `HBR_NEO4J_PASSWORD`.
 */
async function readCredentials(
  block: Neo4jSourceBlock,
  base: string,
  configFile: string,
  key: string,
  env: NodeJS.ProcessEnv,
): Promise<{ user: string; password: string }> {
  if (block.credentialFile === undefined) {
    const password = env.HBR_NEO4J_PASSWORD;
    if (password) return { user: env.HBR_NEO4J_USER || 'neo4j', password };
    throw new ConfigError(
      `${configFile}: ${key}: no credentials: set credentialFile or HBR_NEO4J_PASSWORD`,
      { file: configFile, key },
    );
  }
  const file = path.resolve(base, block.credentialFile);
  let text: string;
  try {
    // Only line breaks are trimmed: spaces may belong to the password.
    text = (await readFile(file, 'utf8')).replace(/^(\r?\n)+|(\r?\n)+$/g, '');
  } catch (error) {
    throw new ConfigError(
      `${configFile}: ${key}.credentialFile: cannot read ${file}: ${(error as Error).message}`,
      { file: configFile, key: `${key}.credentialFile`, cause: error },
    );
  }
  if (text.trimStart().startsWith('{')) {
    const data = parseJson(text);
    if (typeof data.user === 'string' && typeof data.password === 'string')
      return { user: data.user, password: data.password };
  } else {
    const [user, password] = text.split(/\r?\n/);
    if (user && password) return { user: user.trim(), password };
  }
  throw new ConfigError(
    `${configFile}: ${key}.credentialFile: ${file} must hold a user and a password (two lines, or JSON {"user","password"})`,
    { file: configFile, key: `${key}.credentialFile` },
  );
}

function parseJson(text: string): { user?: unknown; password?: unknown } {
  try {
    return JSON.parse(text) as { user?: unknown; password?: unknown };
  } catch {
    // Reported below as a file that does not hold a user and a password.
    return {};
  }
}

async function boltFromConf(home: string): Promise<string> {
  const conf = path.join(home, 'conf', 'neo4j.conf');
  const text = await readFile(conf, 'utf8').catch(() => '');
  const listen = [...text.matchAll(/^server\.bolt\.listen_address=(.+)$/gm)].at(-1)?.[1]?.trim();
  if (listen === undefined) {
    throw new UsageError(
      `[neo4j] scratch home ${home}: no server.bolt.listen_address in ${conf}; give --bolt URL`,
    );
  }
  const hostPort = listen.startsWith(':') ? `127.0.0.1${listen}` : listen;
  return `bolt://${hostPort.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
}

/**
 * Starts the repository's key derivation before the command's own modules load. A files backup
 * or restore spends about 0.15 s loading its code before it resolves the repository, then a
 * quarter second deriving the key (scrypt, on the thread pool) while its main thread has little
 * to do; started here, the derivation runs during the loading instead. From Azure or S3 it ran
 * after the loading and two round trips (listing the key files, reading one).
 *
 * This is a guess from the plain inputs, in the precedence of resolve.ts: the repository of
 * `--repo`, `HBR_REPOSITORY` or else the config file's `repository:` (the file of `--config`,
 * `HBR_CONFIG` or `./hbr.yaml`, read here with nothing but its YAML parsed), a local path (its
 * key files) or an Azure or S3 location whose key files the local object cache holds
 * (stores/object-cache.ts: a command run before read them); and a password from
 * `--password-file`, `HBR_PASSWORD`, `HBR_PASSWORD_FILE` or, for the config's own repository,
 * its `repository.passwordFile`; tried on the oldest password key file, which the unlock tries
 * first. A remote repository without copies of its key files, a key file, a password file that
 * is no regular file (a pipe can be read only once: by the command), or help: no guess. The
 * unlock takes the derivation only when its inputs are exactly the ones it needs
 * (repository/password-kdf.ts), so a wrong guess (a copy damaged on the local disk, say) costs a
 * derivation, never a wrong key; every error here is left for the command itself to meet and
 * report.
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  isAcceptedScryptCost,
  scryptCostOf,
  startPasswordDerivation,
} from '../repository/password-kdf.ts';
import { objectCacheFolder } from '../stores/object-cache.ts';
import { parseLocation } from '../stores/location.ts';
import { remoteStoreName } from '../stores/remote-name.ts';
import { compareText } from '../util/compare-text.ts';
import { tracePhase } from '../util/trace.ts';
import { cacheDirOf } from './cache-dir.ts';
import { commands } from './commands/index.ts';
import { namedConfigFile, nonEmpty, passwordOfFileText, urlScheme } from './plain-inputs.ts';

/**
 * Starts deriving the key the command line will most likely unlock the repository with.
 * Resolves to the key file it started for, or undefined when it made no guess. Synchronous up to
 * the start unless the repository comes from the config file (its YAML parser loads first).
 */
export async function deriveKeyEarly(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<string | undefined> {
  try {
    const flags = _globalFlags(argv);
    // Help opens nothing, and would wait for the derivation before it exits.
    if (flags.help) return undefined;
    const given = flags.repo ?? nonEmpty(env.HBR_REPOSITORY);
    const config = given === undefined ? await _configRepository(flags, env, cwd) : undefined;
    const folder = _keyFolder(given ?? config?.location, env, cwd);
    const password = _password(flags, env, cwd, config?.passwordFile);
    if (folder === undefined || password === undefined) return undefined;
    const candidates = readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
      if (!entry.isFile() || entry.name.startsWith('.tmp-')) return [];
      const path = join(folder, entry.name);
      const params = _scryptOf(JSON.parse(readFileSync(path, 'utf8')));
      return params ? [{ path, ...params }] : [];
    });
    const [oldest] = candidates.sort((a, b) => compareText(a.created, b.created));
    if (oldest === undefined) return undefined;
    if (startPasswordDerivation(password, oldest.salt, oldest))
      tracePhase('key derivation started');
    return oldest.path;
  } catch {
    // A missing repository, an unreadable file, a malformed key or config: the command reports it.
  }
  return undefined;
}

/** Global options that take a value, as main.ts declares them (early-unlock.test.ts compares). */
export const VALUE_OPTIONS: ReadonlySet<string> = new Set([
  '-r',
  '--repo',
  '-c',
  '--config',
  '--password-file',
  '--key-file',
]);

/**
 * The first operand of `argv` (the command name), skipping global options and their values:
 * read without commander, so bin/hbr.js can ask before the CLI loads; main.ts asks the same.
 */
export function commandNameOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined || arg === '--') return argv[i + 1];
    if (!arg.startsWith('-')) return arg;
    if (VALUE_OPTIONS.has(arg)) i++;
  }
  return undefined;
}

/**
 * {@link deriveKeyEarly}, when the command `argv` names opens an existing repository (as
 * commands/index.ts says): called by bin/hbr.js before the CLI itself loads (a quarter of its
 * loading time sooner than main.ts could), and by main.ts, where a second call for the same
 * inputs starts nothing more.
 */
export async function deriveKeyForCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<void> {
  const name = commandNameOf(argv);
  const entry = commands.find((command) => name !== undefined && command.names.includes(name));
  if (entry?.unlocks) await deriveKeyEarly(argv, env, cwd);
}

// --- internal ---

interface Flags {
  repo?: string;
  config?: string;
  passwordFile?: string;
  keyFile?: string;
  help?: boolean;
}

/** Larger files are not passwords anyone typed: the command itself reads those. */
const MAX_PASSWORD_FILE = 64 * 1024;

const FLAG_NAMES: Readonly<Record<string, 'repo' | 'config' | 'passwordFile' | 'keyFile'>> = {
  '--repo': 'repo',
  '-r': 'repo',
  '--config': 'config',
  '-c': 'config',
  '--password-file': 'passwordFile',
  '--key-file': 'keyFile',
};

/** The global flags this guess needs, wherever they stand (as commander reads them). */
function _globalFlags(argv: readonly string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') break;
    if (arg === '--help' || arg === '-h') flags.help = true;
    const equals = arg.indexOf('=');
    const name = arg.startsWith('--') && equals > 0 ? arg.slice(0, equals) : arg;
    const joinedShort = /^-[rc]./.test(arg) ? arg.slice(2) : undefined;
    const flag = FLAG_NAMES[joinedShort === undefined ? name : arg.slice(0, 2)];
    if (flag === undefined) continue;
    const value = name !== arg ? arg.slice(equals + 1) : (joinedShort ?? argv[++i]);
    const given = nonEmpty(value);
    if (given === undefined) delete flags[flag];
    else flags[flag] = given;
  }
  return flags;
}

/**
 * Where the key files of the repository at `location` are: a local repository's `keys/`, or the
 * copies the object cache keeps of an Azure or S3 repository's (found by the store's name, as
 * cli/repository-access.ts finds them).
 */
function _keyFolder(
  location: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): string | undefined {
  if (location === undefined) return undefined;
  const scheme = urlScheme(location);
  if (scheme === undefined) return join(resolve(cwd, location), 'keys');
  if (scheme === 'file') return join(fileURLToPath(location), 'keys');
  const cacheDir = cacheDirOf(env, cwd);
  const parsed = parseLocation(location);
  if (cacheDir === undefined || parsed.kind === 'local') return undefined;
  const name =
    parsed.kind === 'azure'
      ? remoteStoreName('azure', `${parsed.account}/${parsed.container}`, parsed.prefix)
      : remoteStoreName('s3', parsed.bucket, parsed.prefix);
  return join(objectCacheFolder(cacheDir, { name }), 'keys');
}

function _password(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  cwd: string,
  configPasswordFile: string | undefined,
): string | undefined {
  // Regular files only: a pipe (`--password-file <(pass hbr)`) is read once, by the command.
  const fromFile = (file: string): string | undefined => {
    const path = resolve(cwd, file);
    const stats = statSync(path);
    if (!stats.isFile() || stats.size > MAX_PASSWORD_FILE) return undefined;
    return passwordOfFileText(readFileSync(path, 'utf8'));
  };
  if (flags.passwordFile !== undefined) return nonEmpty(fromFile(flags.passwordFile));
  if (flags.keyFile !== undefined) return undefined;
  const password = nonEmpty(env.HBR_PASSWORD);
  if (password !== undefined) return password;
  const file = nonEmpty(env.HBR_PASSWORD_FILE);
  if (file !== undefined) return nonEmpty(fromFile(file));
  if (nonEmpty(env.HBR_KEY_FILE) !== undefined) return undefined;
  return configPasswordFile === undefined ? undefined : nonEmpty(fromFile(configPasswordFile));
}

/**
 * The repository the config file names, with its password file (see config/peek-repository.ts):
 * the file of `--config`, else `HBR_CONFIG`, else `./hbr.yaml` (resolve.ts's order); undefined
 * when there is none. Its parser loads only then.
 */
async function _configRepository(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ location: string; passwordFile?: string } | undefined> {
  const { file } = namedConfigFile(flags.config, env, cwd);
  if (!existsSync(file)) return undefined;
  const { peekRepository } = await import('../config/peek-repository.ts');
  return peekRepository(file);
}

/** A password key file's salt, scrypt cost and time of creation, as keys.ts reads them. */
function _scryptOf(
  file: unknown,
): { salt: Buffer; N: number; r: number; p: number; created: string } | undefined {
  if (typeof file !== 'object' || file === null) return undefined;
  const { kdf, salt, N, r, p, created } = file as Record<string, unknown>;
  if (kdf !== 'scrypt' || typeof salt !== 'string' || typeof created !== 'string') return undefined;
  // As keys.ts's schema: positive integers where given.
  const given = (n: unknown): n is number | undefined =>
    n === undefined || (Number.isInteger(n) && (n as number) > 0);
  if (!given(N) || !given(r) || !given(p)) return undefined;
  const cost = scryptCostOf({ N, r, p });
  // A cost the unlock would refuse is not worth a core (or memory) started ahead of it.
  if (!isAcceptedScryptCost(cost)) return undefined;
  return { salt: Buffer.from(salt, 'base64'), ...cost, created };
}

/**
 * Where the repository is, which config file applies and how to open the repository: each
 * decided from flags, then environment variables, then the config file. Pure functions of
 * their inputs (the environment is passed in), apart from reading the files they name.
 * @module
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, REPOSITORY_URL_SCHEMES, type HbrConfig } from '../config/index.ts';
import { ConfigError, MissingPasswordError, UsageError } from '../errors.ts';
import { refuseResticStyleLocation } from '../stores/restic-style.ts';
import { namedConfigFile, nonEmpty, passwordOfFileText, urlScheme } from './plain-inputs.ts';
import { readSecretFile, SecretFileError } from './secret-file.ts';

/** A repository on a local path or behind a URL (`azure://…`, `s3://…`). */
export type RepositoryLocation =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'url'; readonly url: string; readonly scheme: 'azure' | 's3' };

/** The repository location and where it came from. */
export interface ResolvedRepository {
  readonly location: RepositoryLocation;
  /** Which input named it: `--repo`, `HBR_REPOSITORY` or the config file. */
  readonly from: 'flag' | 'env' | 'config';
  /** The loaded config and its file, when the location came from it. */
  readonly config?: HbrConfig;
  readonly configFile?: string;
}

/** Inputs shared by the resolvers: flag values, the environment and the working directory. */
export interface ResolveInputs {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/**
 * The config file to use: `--config FILE`, else `HBR_CONFIG`, else `./hbr.yaml` if it exists,
 * else `undefined`. `explicit` is true when the file was named (a named file that is missing is
 * an error when loaded; a missing `./hbr.yaml` just means there is no config).
 */
export async function resolveConfigFile(
  inputs: ResolveInputs & { readonly flag?: string | undefined },
): Promise<{ file: string; explicit: boolean } | undefined> {
  const named = namedConfigFile(inputs.flag, inputs.env, inputs.cwd);
  return named.explicit || (await exists(named.file)) ? named : undefined;
}

/**
 * Loads the config file {@link resolveConfigFile} picks, for commands that need one
 * (`backup --source NAME`, the daemon).
 *
 * @throws {UsageError} when no config file is named and `./hbr.yaml` does not exist.
 * @throws {ConfigError} when the file is missing, unreadable or invalid.
 */
export async function requireConfig(
  inputs: ResolveInputs & { readonly flag?: string | undefined },
): Promise<{ file: string; config: HbrConfig }> {
  const loaded = await configInUse(inputs);
  if (!loaded) {
    throw new UsageError(
      'no config file: pass --config FILE, set HBR_CONFIG, or create hbr.yaml in the current folder',
    );
  }
  return loaded;
}

/**
 * The config file {@link resolveConfigFile} picks, loaded; `undefined` when there is none (for
 * commands that use a config only when one is there: `forget`'s retention, replicas after a
 * backup to a repository given by --repo).
 */
export async function configInUse(
  inputs: ResolveInputs & { readonly flag?: string | undefined },
): Promise<{ file: string; config: HbrConfig } | undefined> {
  const found = await resolveConfigFile(inputs);
  return found && { file: found.file, config: await loadConfigShown(found.file, inputs.cwd) };
}

/**
 * Finds the repository. Precedence, first match wins:
 * 1. `--repo LOCATION` (`flag`);
 * 2. the `HBR_REPOSITORY` environment variable;
 * 3. `repository:` in the config file (`configFile` = `--config`, else `HBR_CONFIG`, else
 *    `./hbr.yaml` if it exists).
 * A location is a local path (relative to `cwd`; `file://` URLs too) or an `azure://` or
 * `s3://` URL. Empty values count as unset.
 *
 * @throws {UsageError} when none of them names a repository, or a URL's scheme is unknown.
 * @throws {ConfigError} when the config file is needed and is missing or invalid.
 */
export async function resolveRepositoryLocation(
  inputs: ResolveInputs & {
    readonly flag?: string | undefined;
    readonly configFile?: string | undefined;
  },
): Promise<ResolvedRepository> {
  const flag = nonEmpty(inputs.flag);
  if (flag !== undefined)
    return { location: parseLocation(flag, inputs.cwd, '--repo'), from: 'flag' };
  const env = nonEmpty(inputs.env.HBR_REPOSITORY);
  if (env !== undefined) {
    return { location: parseLocation(env, inputs.cwd, 'HBR_REPOSITORY'), from: 'env' };
  }
  const found = await resolveConfigFile({ ...inputs, flag: inputs.configFile });
  if (found) {
    const config = await loadConfigShown(found.file, inputs.cwd);
    const location = configRepositoryLocation(config, found.file);
    if (location) return { location, from: 'config', config, configFile: found.file };
    throw new ConfigError(
      `${found.file}: no "repository:" in the config; add one, or pass --repo or set HBR_REPOSITORY`,
      { file: found.file, key: 'repository' },
    );
  }
  throw new UsageError(
    'no repository given: pass --repo LOCATION, set HBR_REPOSITORY, or put "repository:" in hbr.yaml (--config FILE or HBR_CONFIG)',
  );
}

/** The repository a loaded config names (`repository.path` or `.url`), if any. */
export function configRepositoryLocation(
  config: HbrConfig,
  file: string,
): RepositoryLocation | undefined {
  const { repository } = config;
  if (repository?.path !== undefined) return { kind: 'path', path: repository.path };
  if (repository?.url !== undefined)
    return parseLocation(repository.url, path.dirname(file), 'repository.url');
  return undefined;
}

/**
 * Whether two locations name the same repository as written: the same path, or the same URL but
 * for trailing slashes of its path and the order of its query parameters (`?endpoint=…&
 * immutability=…` and the other way round are one repository, with one config's retention).
 */
export function sameLocation(a: RepositoryLocation, b: RepositoryLocation): boolean {
  if (a.kind === 'path' && b.kind === 'path') return path.resolve(a.path) === path.resolve(b.path);
  if (a.kind === 'url' && b.kind === 'url') return _urlKey(a.url) === _urlKey(b.url);
  return false;
}

/** A URL with its path's trailing slashes dropped and its query parameters sorted. */
function _urlKey(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.replace(/\/+$/, '');
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  url.searchParams.sort();
  return url.href;
}

/**
 * Parses a repository location as typed by a user: a URL with a known scheme, a `file://`
 * URL, or a path (resolved against `cwd`). `origin` names the input in messages.
 *
 * @throws {UsageError} for an unknown URL scheme, or a location written as restic writes them
 * (`s3:bucket/prefix`: see stores/restic-style.ts).
 */
export function parseLocation(text: string, cwd: string, origin: string): RepositoryLocation {
  const scheme = urlScheme(text);
  if (scheme === undefined) {
    refuseResticStyleLocation(text, origin);
    return { kind: 'path', path: path.resolve(cwd, text) };
  }
  if (scheme === 'file') {
    try {
      return { kind: 'path', path: fileURLToPath(text) };
    } catch {
      throw new UsageError(
        `${origin}: "${text}" is no file URL of a local path (file:///srv/backup, three slashes)`,
      );
    }
  }
  if (scheme === 'azure' || scheme === 's3') return { kind: 'url', url: text, scheme };
  throw new UsageError(
    `${origin}: unknown repository URL scheme "${scheme}://" (expected a path or ${REPOSITORY_URL_SCHEMES.map((s) => `${s}://`).join(', ')})`,
  );
}

/** How to open the repository: a password, or a key file's bytes. */
export type Credentials =
  | { readonly kind: 'password'; readonly password: string; readonly from: string }
  | {
      readonly kind: 'keyFile';
      readonly path: string;
      readonly key: Buffer;
      readonly from: string;
    };

/**
 * Whether a flag or an environment variable names the credential (steps 1 and 2 of
 * {@link resolveCredentials}): only when none does is a config's credential ever looked for.
 */
export function credentialGiven(
  inputs: ResolveInputs & {
    readonly passwordFile?: string | undefined;
    readonly keyFile?: string | undefined;
  },
): boolean {
  const { env } = inputs;
  return [
    inputs.passwordFile,
    inputs.keyFile,
    env.HBR_PASSWORD,
    env.HBR_PASSWORD_FILE,
    env.HBR_KEY_FILE,
  ].some((value) => nonEmpty(value) !== undefined);
}

/**
 * Finds the credential that opens the repository. Precedence, first match wins:
 * 1. `--password-file FILE` or `--key-file FILE` (giving both is a usage error);
 * 2. `HBR_PASSWORD` (the password itself, for CI secrets), then `HBR_PASSWORD_FILE`, then
 *    `HBR_KEY_FILE`;
 * 3. the config's `repository.passwordFile` or `repository.keyFile` (pass `config` only when
 *    the repository is the config's own, so one repository's secret is never tried on
 *    another).
 * A password file's trailing line break is dropped; the password is never taken from a
 * command-line argument. Empty environment variables count as unset. Relative paths from flags
 * and the environment resolve against `cwd`; the config's are already absolute.
 *
 * The files are read with `signal` (see secret-file.ts: at most 1 MiB, and never past an
 * interrupt).
 *
 * @throws {MissingPasswordError} when no input names a credential, the password (or key
 * file) is empty, or a file named by a flag or variable cannot be read.
 * @throws {UsageError} when both flags are given, or a file named by a flag or variable is
 * larger than a password or key file can be.
 * @throws {ConfigError} when a file named by the config cannot be read or is too large.
 * @throws {InterruptedError} when `signal` aborts while a file is read.
 */
export async function resolveCredentials(
  inputs: ResolveInputs & {
    readonly passwordFile?: string | undefined;
    readonly keyFile?: string | undefined;
    readonly config?: {
      readonly passwordFile?: string | undefined;
      readonly keyFile?: string | undefined;
    };
    /** The config file, for messages about its credential files. */
    readonly configFile?: string | undefined;
    /** Ends a read that waits (a FIFO without a writer). @default never */
    readonly signal?: AbortSignal | undefined;
  },
): Promise<Credentials> {
  const { env, cwd } = inputs;
  const signal = inputs.signal ?? new AbortController().signal;
  const passwordFrom = (file: string, from: string, configFile?: string): Promise<Credentials> =>
    _passwordFrom(file, from, signal, configFile);
  const keyFrom = (file: string, from: string, configFile?: string): Promise<Credentials> =>
    _keyFrom(file, from, signal, configFile);
  const passwordFlag = nonEmpty(inputs.passwordFile);
  const keyFlag = nonEmpty(inputs.keyFile);
  if (passwordFlag !== undefined && keyFlag !== undefined) {
    throw new UsageError('give either --password-file or --key-file, not both');
  }
  if (passwordFlag !== undefined)
    return passwordFrom(path.resolve(cwd, passwordFlag), '--password-file');
  if (keyFlag !== undefined) return keyFrom(path.resolve(cwd, keyFlag), '--key-file');

  const envPassword = nonEmpty(env.HBR_PASSWORD);
  if (envPassword !== undefined)
    return { kind: 'password', password: envPassword, from: 'HBR_PASSWORD' };
  const envPasswordFile = nonEmpty(env.HBR_PASSWORD_FILE);
  if (envPasswordFile !== undefined)
    return passwordFrom(path.resolve(cwd, envPasswordFile), 'HBR_PASSWORD_FILE');
  const envKeyFile = nonEmpty(env.HBR_KEY_FILE);
  if (envKeyFile !== undefined) return keyFrom(path.resolve(cwd, envKeyFile), 'HBR_KEY_FILE');

  const { config, configFile } = inputs;
  const where = configFile ?? 'the config file';
  if (config?.passwordFile !== undefined) {
    return passwordFrom(config.passwordFile, `repository.passwordFile in ${where}`, configFile);
  }
  if (config?.keyFile !== undefined)
    return keyFrom(config.keyFile, `repository.keyFile in ${where}`, configFile);

  throw new MissingPasswordError(
    'no repository password: set HBR_PASSWORD or HBR_PASSWORD_FILE, pass --password-file FILE or --key-file FILE, or set repository.passwordFile in hbr.yaml',
  );
}

// --- internal ---

/** Loads `file`, naming it in messages as the user would: relative to `cwd` when inside it. */
async function loadConfigShown(file: string, cwd: string): Promise<HbrConfig> {
  const relative = path.relative(cwd, file);
  const shown =
    relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
  return loadConfig(shown, { cwd });
}

async function _passwordFrom(
  file: string,
  from: string,
  signal: AbortSignal,
  configFile?: string,
): Promise<Credentials> {
  const text = (await _readSecret(file, 'password', from, signal, configFile)).toString('utf8');
  const password = passwordOfFileText(text);
  if (password === '')
    throw new MissingPasswordError(`the password file ${file} (from ${from}) is empty`);
  return { kind: 'password', password, from };
}

async function _keyFrom(
  file: string,
  from: string,
  signal: AbortSignal,
  configFile?: string,
): Promise<Credentials> {
  const key = await _readSecret(file, 'key', from, signal, configFile);
  if (key.length === 0)
    throw new MissingPasswordError(`the key file ${file} (from ${from}) is empty`);
  return { kind: 'keyFile', path: file, key, from };
}

/**
 * A secret file's bytes. A file that cannot be read is a missing password (exit 12, as the
 * README's table says), a file too large a wrong argument (exit 2); either is a config error
 * when the config named the file.
 */
async function _readSecret(
  file: string,
  what: string,
  from: string,
  signal: AbortSignal,
  configFile?: string,
): Promise<Buffer> {
  try {
    return await readSecretFile(file, signal);
  } catch (error) {
    if (!(error instanceof SecretFileError)) throw error;
    const message = `cannot read the ${what} file ${file} (from ${from}): ${error.message}`;
    if (configFile !== undefined)
      throw new ConfigError(`${configFile}: ${message}`, { file: configFile, cause: error });
    if (error.tooLarge) throw new UsageError(message, { cause: error });
    throw new MissingPasswordError(message, { cause: error });
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

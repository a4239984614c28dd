/**
 * From command-line flags, environment and config to an open repository: the glue every
 * repository command shares.
 * @module
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { configFileError, type HbrConfig, type ReplicaConfig } from '../config/index.ts';
import {
  ConfigError,
  isHbrError,
  MissingPasswordError,
  NotFoundError,
  UsageError,
} from '../errors.ts';
import {
  initRepository,
  openRepository,
  type Credential,
  type OpenRepository,
} from '../repository/index.ts';
import { addDuration, parseDuration } from '../config/duration.ts';
import { acquireReadLock, type OnLockLeft, type RepositoryLock } from '../repository/locks.ts';
import { createLocalStore } from '../stores/local.ts';
import { objectCacheFolder, withObjectCache } from '../stores/object-cache.ts';
import { withRetention } from '../stores/retention.ts';
import type { Store } from '../stores/types.ts';
import { cacheDirOf } from './cache-dir.ts';
import type { CliContext, GlobalOptions } from './context.ts';
import { createReporter, type Reporter } from './reporter.ts';
import { readSecretFile, SecretFileError } from './secret-file.ts';
import {
  configInUse,
  configRepositoryLocation,
  credentialGiven,
  parseLocation,
  resolveCredentials,
  resolveRepositoryLocation,
  sameLocation,
  type ResolvedRepository,
  type RepositoryLocation,
} from './resolve.ts';

/** An opened repository and what the CLI resolved on the way. */
export interface RepositoryAccess {
  readonly repo: OpenRepository;
  readonly store: Store;
  readonly location: RepositoryLocation;
  /** The config the repository came from (not one --repo or HBR_REPOSITORY overrode). */
  readonly config?: HbrConfig;
  readonly configFile?: string;
}

/**
 * Opens the store a location names, with its own credential file and retention period.
 * `credentialFile` comes from the config (`configKey` says where: `['repository']`,
 * `['replicas', 0]`): one it cannot read is a config error naming its line, not the store's
 * usage error.
 * @throws ConfigError when the credential file cannot be read (or exceeds 64 KiB).
 */
export async function openStoreAt(
  location: RepositoryLocation,
  env: NodeJS.ProcessEnv,
  options: {
    credentialFile?: string;
    retainFor?: string;
    configFile?: string;
    configKey?: readonly PropertyKey[];
    signal?: AbortSignal;
  } = {},
): Promise<Store> {
  const { credentialFile } = options;
  let readFile: ((path: string) => Promise<string>) | undefined;
  if (location.kind === 'url' && credentialFile && options.configFile) {
    const text = await _readConfigCredential(credentialFile, {
      configFile: options.configFile,
      key: [...(options.configKey ?? ['repository']), 'credentialFile'],
      signal: options.signal ?? new AbortController().signal,
    });
    readFile = () => Promise.resolve(text);
  }
  const store =
    location.kind === 'path'
      ? createLocalStore({ path: location.path })
      : await (
          await import('../stores/location.ts')
        ).openStore(location.url, {
          env,
          ...(credentialFile ? { credentialFile } : {}),
          ...(readFile ? { readFile } : {}),
        });
  const { retainFor } = options;
  if (!retainFor) return store;
  return withRetention(store, (now) => addDuration(now, parseDuration(retainFor)));
}

/**
 * Opens the store of the replica `name` from the config's `replicas:` (its `path`, or its `url`
 * relative to the config file's folder). Store credentials come from `env`, as for the
 * repository.
 * @throws NotFoundError when the config names no such replica; UsageError for a bad location.
 */
export async function openReplicaStore(
  env: NodeJS.ProcessEnv,
  config: HbrConfig,
  configFile: string,
  name: string,
): Promise<{ store: Store; replica: ReplicaConfig }> {
  const replica = config.replicas?.find((r) => r.name === name);
  if (!replica) {
    const known = (config.replicas ?? []).map((r) => r.name).join(', ') || 'none';
    throw new NotFoundError(`no replica named "${name}" in ${configFile} (replicas: ${known})`);
  }
  const location: RepositoryLocation =
    replica.path !== undefined
      ? { kind: 'path', path: replica.path }
      : parseLocation(replica.url ?? '', dirname(configFile), `replicas.${name}.url`);
  const index = config.replicas?.indexOf(replica) ?? 0;
  const options = { ..._storeOptions(replica), configFile, configKey: ['replicas', index] };
  return { store: await openStoreAt(location, env, options), replica };
}

/** Resolves the credential the flags, environment or config name. */
export async function credentialFor(
  ctx: CliContext,
  globals: GlobalOptions,
  config?: { passwordFile?: string; keyFile?: string },
  configFile?: string,
): Promise<Credential> {
  const credentials = await resolveCredentials({
    env: ctx.env,
    cwd: ctx.cwd,
    passwordFile: globals.passwordFile,
    keyFile: globals.keyFile,
    config,
    configFile,
    signal: ctx.signal,
  });
  return credentials.kind === 'password'
    ? { kind: 'password', password: credentials.password }
    : { kind: 'keyFile', secret: credentials.key };
}

/** Resolves, opens and unlocks the repository for a command. */
export async function accessRepository(
  ctx: CliContext,
  globals: GlobalOptions,
  options: {
    create?: boolean;
    /** With `create`: the new repository's settings, given the config it came from. */
    initOptions?: (config: HbrConfig | undefined) => Parameters<typeof initRepository>[2];
    /** See `UnlockOptions.onDeriveKey`. */
    onDeriveKey?: () => void;
    /**
     * Read a remote repository's index objects and manifests from the local copies kept in the
     * cache folder, where there is one (stores/object-cache.ts). Off for what must read the
     * store's own bytes (check, repair, verify). @default true
     */
    objectCache?: boolean;
  } = {},
): Promise<RepositoryAccess> {
  const resolved = await resolveRepositoryLocation({
    env: ctx.env,
    cwd: ctx.cwd,
    flag: globals.repo,
    configFile: globals.config,
  });
  // The config's repository, when it is the one opened: named by the config, or the same path
  // or URL named by --repo or HBR_REPOSITORY. Its credential file and retention come with it.
  const own =
    resolved.from === 'config'
      ? resolved.config?.repository && resolved.configFile
        ? { repository: resolved.config.repository, file: resolved.configFile }
        : undefined
      : await _configOfSameRepository(ctx, globals, resolved);
  const opened = await openStoreAt(resolved.location, ctx.env, {
    ..._storeOptions(own?.repository),
    ...(own ? { configFile: own.file } : {}),
    signal: ctx.signal,
  });
  const cacheDir = options.objectCache === false ? undefined : cacheDirOf(ctx.env, ctx.cwd);
  // A local repository is read from its own disk: a copy would only double it.
  const store =
    resolved.location.kind === 'url' && cacheDir !== undefined
      ? withObjectCache(opened, objectCacheFolder(cacheDir, opened))
      : opened;
  const credential = await credentialFor(ctx, globals, own?.repository, own?.file);
  const fromConfig = resolved.from === 'config' ? resolved.config?.repository : undefined;
  const repo = options.create
    ? await initRepository(store, credential, options.initOptions?.(fromConfig && resolved.config))
    : await openRepository(store, credential, {
        ...(options.onDeriveKey ? { onDeriveKey: options.onDeriveKey } : {}),
      }).catch((error: unknown) => _saidWhatIsThere(error, resolved.location));
  return {
    repo,
    store,
    location: resolved.location,
    ...(resolved.config ? { config: resolved.config } : {}),
    ...(resolved.configFile ? { configFile: resolved.configFile } : {}),
  };
}

/** Parses a non-negative integer flag. @throws UsageError */
export function parseCount(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} takes a whole number, not "${value}"`);
  return Number(value);
}

/** The reporter for a command, from the global flags and the context. */
export function reporterFor(ctx: CliContext, globals: GlobalOptions): Reporter {
  return createReporter({
    json: globals.json,
    progress: globals.progress,
    isTTY: ctx.isTTY,
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    env: ctx.env,
  });
}

// --- internal ---

/** A credential file the config names, read as a secret file is (limited, interruptible). */
async function _readConfigCredential(
  file: string,
  where: { configFile: string; key: readonly PropertyKey[]; signal: AbortSignal },
): Promise<string> {
  try {
    return (await readSecretFile(file, where.signal)).toString('utf8');
  } catch (error) {
    if (!(error instanceof SecretFileError)) throw error;
    throw await configFileError(
      where.configFile,
      where.key,
      `cannot read the credential file ${file}: ${error.message}`,
      error,
    );
  }
}

/**
 * The config's `repository:` for a repository --repo or HBR_REPOSITORY named, when the config in
 * use names that same repository (the same path or URL as written, as the replicas after a
 * backup take it): `hbr -r /srv/repo` beside an hbr.yaml of `path: /srv/repo` opens it with the
 * config's `passwordFile` (unless a flag or variable names the credential), `credentialFile`
 * and `retainFor`, as `hbr` alone does: without them, a backup so named wrote objects without
 * the retention the config asks. Another repository never gets the config's secret: where it
 * would have been the only credential, the error says whose it is.
 * @throws MissingPasswordError when the config's credential is for another repository.
 */
async function _configOfSameRepository(
  ctx: CliContext,
  globals: GlobalOptions,
  resolved: ResolvedRepository,
): Promise<{ repository: NonNullable<HbrConfig['repository']>; file: string } | undefined> {
  const given = credentialGiven({ env: ctx.env, cwd: ctx.cwd, ...globals });
  // With the credential given, an ./hbr.yaml that cannot be read is none: the repository named
  // opens as it did before its credential file and retention came from there. One named by
  // --config or HBR_CONFIG is meant, and its error said.
  const configNamed = globals.config !== undefined || Boolean(ctx.env.HBR_CONFIG);
  const loaded = await configInUse({ env: ctx.env, cwd: ctx.cwd, flag: globals.config }).catch(
    (error: unknown) => {
      if (given && !configNamed && error instanceof ConfigError) return undefined;
      throw error;
    },
  );
  const repository = loaded?.config.repository;
  if (!loaded || !repository) return undefined;
  const location = configRepositoryLocation(loaded.config, loaded.file);
  if (location && sameLocation(location, resolved.location))
    return { repository, file: loaded.file };
  if (given) return undefined;
  if (repository.passwordFile === undefined && repository.keyFile === undefined) return undefined;
  const named = resolved.from === 'flag' ? '--repo' : 'HBR_REPOSITORY';
  const secret = repository.passwordFile !== undefined ? 'passwordFile' : 'keyFile';
  throw new MissingPasswordError(
    `no repository password for ${_shown(resolved.location)} (from ${named}): repository.${secret} in ${loaded.file} is for the config's repository${location ? `, ${_shown(location)}` : ''}, and is never tried on another; pass --password-file FILE or --key-file FILE, or set HBR_PASSWORD or HBR_PASSWORD_FILE`,
  );
}

/**
 * `error`, when it is that no repository is at a local path which holds a file, saying so: not
 * that a repository could be made there with `hbr init`.
 */
async function _saidWhatIsThere(error: unknown, location: RepositoryLocation): Promise<never> {
  if (isHbrError(error) && error.code === 'REPOSITORY_NOT_FOUND' && location.kind === 'path') {
    const found = await stat(location.path).catch(() => undefined);
    if (found && !found.isDirectory())
      error.message = `no repository at ${location.path}: it is a file, not a folder (give the repository's folder)`;
  }
  throw error;
}

function _shown(location: RepositoryLocation): string {
  return location.kind === 'path' ? location.path : location.url;
}

function _storeOptions(location?: { credentialFile?: string; retainFor?: string }): {
  credentialFile?: string;
  retainFor?: string;
} {
  return {
    ...(location?.credentialFile ? { credentialFile: location.credentialFile } : {}),
    ...(location?.retainFor ? { retainFor: location.retainFor } : {}),
  };
}

/**
 * The shared lock of a command that reads the repository (restore, check; see
 * `acquireReadLock`): prune waits while it reads. Where no lock can be written, the reporter
 * warns and the command reads without one.
 * @throws RepositoryLockedError while prune holds its exclusive lock
 */
export function lockForReading(
  repo: OpenRepository,
  reporter: Reporter,
  operation: string,
): Promise<RepositoryLock> {
  return acquireReadLock(
    repo.store,
    repo.keys,
    operation,
    (why) =>
      reporter.warn(`${operation} without a lock (a prune could delete what is read): ${why}`),
    warnLockLeft(reporter),
  );
}

/**
 * Tells the user of a lock the command could not remove (see `RepositoryLock.release`): a
 * warning, on stderr and as a JSON `warning` line with the lock's key, never a failure.
 */
export function warnLockLeft(reporter: Reporter): OnLockLeft {
  return (left) => reporter.warn(left.message, { lock: left.key, reason: left.reason });
}

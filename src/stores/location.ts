import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StorageClass } from '@aws-sdk/client-s3';
import { UsageError } from '../errors.ts';
import type { AzureAccessTier } from './azure-blob.ts';
import { withLimit } from './limit.ts';
import { createLocalStore } from './local.ts';
import { refuseResticStyleLocation } from './restic-style.ts';
import { type RetryOptions, withRetry } from './retry.ts';
import type { Store } from './types.ts';

/** A parsed repository location. Never carries a secret. */
export type Location =
  | { readonly kind: 'local'; readonly path: string }
  | {
      readonly kind: 'azure';
      readonly account: string;
      readonly container: string;
      readonly prefix: string;
      readonly endpoint?: string | undefined;
      readonly tiers?: Readonly<Record<string, AzureAccessTier>> | undefined;
      readonly immutability?: 'Unlocked' | 'Locked' | undefined;
      readonly connections?: number | undefined;
      readonly idleTimeoutMs?: number | undefined;
    }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      readonly prefix: string;
      readonly endpoint?: string | undefined;
      readonly region?: string | undefined;
      readonly pathStyle?: boolean | undefined;
      readonly storageClasses?: Readonly<Record<string, StorageClass>> | undefined;
      readonly objectLock?: 'GOVERNANCE' | 'COMPLIANCE' | undefined;
      readonly connections?: number | undefined;
      readonly idleTimeoutMs?: number | undefined;
    };

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Environment variables holding credentials and endpoints (`process.env` at the edge). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A file holding the credential (Azure: connection string, SAS or key; S3: key id and secret). */
  readonly credentialFile?: string | undefined;
  /** Retry settings, or `false` for none. @default {} (withRetry's defaults) */
  readonly retry?: RetryOptions | false;
  /** Parallel requests. @default the location's `connections`, else the store's own */
  readonly connections?: number | undefined;
  /** Reads a credential file as UTF-8 (tests). */
  readonly readFile?: (path: string) => Promise<string>;
}

const TIERS = ['Hot', 'Cool', 'Cold', 'Archive'] as const;
/** Query keys that carry secrets: Azure SAS fields, S3 presigned-URL fields, and anything named
 *  like a key, secret, token, password or signature (`secretAccessKey=`, `sessionToken=`…). */
const SECRET_KEY =
  /^(?:sv|ss|srt|sr|sp|st|se|sip|spr|si|sig|skoid|sktid|skt|ske|sks|skv|sdd)$|sig|secret|token|password|credential|key/i;
const AZURE_PARAMS = ['endpoint', 'tier', 'dataTier', 'immutability', 'connections', 'idleTimeout'];
const S3_PARAMS = [
  'endpoint',
  'region',
  'pathStyle',
  'storageClass',
  'dataStorageClass',
  'objectLock',
  'connections',
  'idleTimeout',
];

/**
 * Parses a repository location:
 * - a path (`/srv/repo`, `./repo`) or `file:///srv/repo`
 * - `azure://ACCOUNT/CONTAINER[/PREFIX][?endpoint=URL&tier=Hot&dataTier=Cool&immutability=Unlocked|Locked&connections=N&idleTimeout=S]`
 * - `s3://BUCKET[/PREFIX][?endpoint=URL&region=R&pathStyle=true&storageClass=C&dataStorageClass=C&objectLock=GOVERNANCE|COMPLIANCE&connections=N&idleTimeout=S]`
 *
 * `dataTier`/`dataStorageClass` apply to `data/` objects (packs), `tier`/`storageClass` to the rest.
 * `idleTimeout` is in seconds (the stores' `idleTimeoutMs`).
 * @throws UsageError for an unknown scheme, a missing container or bucket, an unknown or bad
 *   parameter, or credentials in the URL (they belong in environment variables or files).
 * @example parseLocation('s3://backups/hbr?endpoint=http://127.0.0.1:9000&pathStyle=true')
 */
export function parseLocation(text: string): Location {
  const trimmed = text.trim();
  if (!trimmed) throw new UsageError('[store] empty repository location');
  const scheme = /^[a-z][a-z0-9+.-]+:/i.test(trimmed);
  // Secrets first, so that no later error prints them; messages show `shown`, never the query.
  if (scheme) _refuseSecrets(trimmed);
  const shown = trimmed.replace(/[?#].*$/s, '').replace(/^([^:]+:\/\/)[^/@]*@/, '$1');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    refuseResticStyleLocation(shown, '[store]');
    if (scheme) throw _unknown(shown);
    return { kind: 'local', path: resolve(trimmed) };
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch (error) {
    throw new UsageError(`[store] not a valid location URL: ${shown}`, { cause: error });
  }
  if (url.username || url.password) {
    throw new UsageError(
      `[store] ${url.protocol}// location with credentials in it: put them in environment variables or a credential file`,
    );
  }
  // URL parsing would drop a fragment (`prod#2024` → `prod`) and keep a port nobody reads.
  if (trimmed.includes('#')) {
    throw new UsageError(
      `[store] ${shown}: a location cannot have a '#' part; write a '#' that belongs in the path as %23`,
    );
  }
  const protocol = url.protocol.slice(0, -1).toLowerCase();
  if (protocol === 'file') return { kind: 'local', path: fileURLToPath(url) };
  if (protocol !== 'azure' && protocol !== 's3') throw _unknown(shown);
  if (url.port) {
    throw new UsageError(
      `[store] ${shown}: ${protocol}:// locations take no port; give the server as endpoint=http://HOST:PORT`,
    );
  }
  const query = _query(url, protocol === 'azure' ? AZURE_PARAMS : S3_PARAMS, shown);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch (error) {
    throw new UsageError(`[store] ${shown}: bad %-escape; write a '%' in the path as %25`, {
      cause: error,
    });
  }
  const segments = path.split('/').filter(Boolean);
  const connections = _int(query.get('connections'), 'connections', 256);
  const idleSeconds = _int(query.get('idleTimeout'), 'idleTimeout (seconds)', 3600);
  const idleTimeoutMs = idleSeconds === undefined ? undefined : idleSeconds * 1000;
  const endpoint = _endpoint(query.get('endpoint'));

  if (protocol === 'azure') {
    const account = url.hostname;
    const container = segments[0];
    if (!/^[a-z0-9]{3,24}$/.test(account))
      throw new UsageError(`[store] bad Azure storage account name '${account}' in ${shown}`);
    if (!container || !/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(container)) {
      throw new UsageError(
        `[store] ${shown}: expected azure://ACCOUNT/CONTAINER[/PREFIX] with a valid container name`,
      );
    }
    const tiers: Record<string, AzureAccessTier> = {};
    const tier = _choice(query.get('tier'), TIERS, 'tier');
    const dataTier = _choice(query.get('dataTier'), TIERS, 'dataTier');
    if (tier) tiers.default = tier;
    if (dataTier) tiers.data = dataTier;
    const immutability = _choice(
      query.get('immutability'),
      ['Unlocked', 'Locked'] as const,
      'immutability',
    );
    return {
      kind: 'azure',
      account,
      container,
      prefix: segments.slice(1).join('/'),
      endpoint,
      tiers,
      immutability,
      connections,
      idleTimeoutMs,
    };
  }

  const bucket = url.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new UsageError(`[store] bad S3 bucket name '${bucket}' in ${shown}`);
  const storageClasses: Record<string, StorageClass> = {};
  const storageClass = query.get('storageClass');
  const dataStorageClass = query.get('dataStorageClass');
  if (storageClass) storageClasses.default = storageClass as StorageClass;
  if (dataStorageClass) storageClasses.data = dataStorageClass as StorageClass;
  const pathStyle = _choice(query.get('pathStyle'), ['true', 'false'] as const, 'pathStyle');
  const objectLock = _choice(
    query.get('objectLock'),
    ['GOVERNANCE', 'COMPLIANCE'] as const,
    'objectLock',
  );
  return {
    kind: 's3',
    bucket,
    prefix: segments.join('/'),
    endpoint,
    region: query.get('region') ?? undefined,
    pathStyle: pathStyle === undefined ? undefined : pathStyle === 'true',
    storageClasses,
    objectLock,
    connections,
    idleTimeoutMs,
  };
}

/**
 * Whether the store a location names can set a retain-until date on objects: an S3 bucket with
 * `objectLock=`, an Azure container with `immutability=`; never a local folder. The stores
 * decide `properties.supportsRetention` by the same options.
 */
export function locationHoldsRetention(location: Location): boolean {
  if (location.kind === 'azure') return location.immutability !== undefined;
  if (location.kind === 's3') return location.objectLock !== undefined;
  return false;
}

/**
 * Opens the store a location names, wrapped in bounded concurrency and retries. Credentials come
 * from `options.credentialFile` or `options.env` only (Azure: see `resolveAzureCredential`; S3:
 * `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `HBR_S3_CREDENTIAL_FILE`, else the SDK's chain).
 * Endpoints not in the URL come from `HBR_AZURE_ENDPOINT`, `HBR_S3_ENDPOINT` or `AWS_ENDPOINT_URL_S3`,
 * the region from `AWS_REGION`/`AWS_DEFAULT_REGION`.
 * @throws UsageError for a bad location or missing credentials.
 * @example const store = await openStore('azure://acct/backups/hbr', { env: process.env });
 */
export async function openStore(
  location: string | Location,
  options: OpenStoreOptions,
): Promise<Store> {
  const parsed = typeof location === 'string' ? parseLocation(location) : location;
  const store = await _create(parsed, options);
  const limited = withLimit(
    store,
    options.connections ?? (parsed.kind === 'local' ? undefined : parsed.connections),
  );
  return options.retry === false ? limited : withRetry(limited, options.retry);
}

// --- internal ---

async function _create(location: Location, options: OpenStoreOptions): Promise<Store> {
  const { env } = options;
  if (location.kind === 'local') return createLocalStore({ path: location.path });
  if (location.kind === 'azure') {
    const [{ createAzureBlobStore }, { resolveAzureCredential }] = await Promise.all([
      import('./azure-blob.ts'),
      import('./azure-credential.ts'),
    ]);
    const credential = await resolveAzureCredential({
      account: location.account,
      env,
      credentialFile: options.credentialFile,
      readFile: options.readFile,
    });
    const endpoint = location.endpoint ?? (_endpoint(env.HBR_AZURE_ENDPOINT) || undefined);
    return createAzureBlobStore({ ...location, endpoint, credential });
  }
  const [{ createS3Store }, { resolveS3Credentials }] = await Promise.all([
    import('./s3.ts'),
    import('./s3-credential.ts'),
  ]);
  const credentials = await resolveS3Credentials({
    env,
    credentialFile: options.credentialFile,
    readFile: options.readFile,
  });
  const endpoint =
    location.endpoint ??
    _endpoint(env.HBR_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL);
  const region = location.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  return createS3Store({
    ...location,
    endpoint,
    region,
    pathStyle: location.pathStyle ?? endpoint !== undefined,
    credentials,
  });
}

function _unknown(text: string): UsageError {
  return new UsageError(
    `[store] unknown repository location '${text}': use a path, file:///path, azure://ACCOUNT/CONTAINER/PREFIX or s3://BUCKET/PREFIX`,
  );
}

/** Refuses a location whose query has any key that carries a secret, whatever else is wrong. */
function _refuseSecrets(text: string): void {
  const query = /\?([^#]*)/.exec(text)?.[1] ?? '';
  for (const key of new URLSearchParams(query).keys()) {
    if (SECRET_KEY.test(key)) {
      throw new UsageError(
        '[store] repository location with a signature, key or token in its query: put secrets in ' +
          'a credential file or environment variables (Azure SAS: HBR_AZURE_SAS_FILE or ' +
          'AZURE_STORAGE_SAS_TOKEN; S3: HBR_S3_CREDENTIAL_FILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
      );
    }
  }
}

function _query(url: URL, allowed: readonly string[], text: string): URLSearchParams {
  for (const key of url.searchParams.keys()) {
    if (!allowed.includes(key)) {
      throw new UsageError(
        `[store] unknown parameter '${key}' in ${text}; allowed: ${allowed.join(', ')}`,
      );
    }
  }
  return url.searchParams;
}

function _endpoint(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new UsageError(`[store] endpoint is not a URL: ${value}`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`[store] endpoint must be http(s): ${value}`);
  if (url.username || url.password || url.search) {
    throw new UsageError(
      '[store] endpoint must not carry credentials or a query: put them in environment variables or a credential file',
    );
  }
  return value.replace(/\/+$/, '');
}

function _int(value: string | null, name: string, max: number): number | undefined {
  if (value === null) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max)
    throw new UsageError(`[store] ${name} must be an integer from 1 to ${max}, not '${value}'`);
  return number;
}

function _choice<T extends string>(
  value: string | null,
  allowed: readonly T[],
  name: string,
): T | undefined {
  if (value === null) return undefined;
  const match = allowed.find((choice) => choice.toLowerCase() === value.toLowerCase());
  if (!match)
    throw new UsageError(`[store] ${name} must be one of ${allowed.join(', ')}, not '${value}'`);
  return match;
}

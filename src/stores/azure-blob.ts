import type { Readable } from 'node:stream';
import type { BlobImmutabilityPolicy, BlockBlobClient } from '@azure/storage-blob';
import { DeleteForbiddenError, StoreError } from '../errors.ts';
import {
  azureFacts as _facts,
  type IdleWatch,
  openAzureContainer,
  uploadBlockBlob,
  watchIdle,
} from './azure-client.ts';
import type { AzureCredential } from './azure-credential.ts';
import { toStoreError } from './store-error.ts';
import { holdsRetention, type HeldRetention } from './retention.ts';
import {
  REMOTE_CONNECTIONS,
  type GetOptions,
  type ObjectInfo,
  type PutOptions,
  type Store,
} from './types.ts';
import { prefixFolder, remoteStoreName } from './remote-name.ts';

/** An Azure access tier for block blobs. */
export type AzureAccessTier = 'Hot' | 'Cool' | 'Cold' | 'Archive';

/** Options of {@link createAzureBlobStore}. */
export interface AzureBlobStoreOptions {
  /** Storage account name. */
  readonly account: string;
  /** Container; created on the first put if it does not exist (needs the right to create). */
  readonly container: string;
  /** Folder inside the container, e.g. `hbr/prod`. @default '' */
  readonly prefix?: string;
  /** Blob service URL, e.g. `http://127.0.0.1:10000/devstoreaccount1` for Azurite.
   *  @default the connection string's BlobEndpoint, else `https://ACCOUNT.blob.core.windows.net` */
  readonly endpoint?: string | undefined;
  readonly credential: AzureCredential;
  /** Access tier per object class (a key's first segment: `data`, `index`, …) or `default`.
   *  @default the account's default tier */
  readonly tiers?: Readonly<Record<string, AzureAccessTier>>;
  /** With this set, `put` with `retainUntil` and `extendRetention` set a version-level
   *  immutability policy in this mode (the container must support version-level immutability).
   *  @default undefined: retention unsupported */
  readonly immutability?: 'Unlocked' | 'Locked' | undefined;
  /** @default REMOTE_CONNECTIONS */
  readonly connections?: number;
  /** Objects larger than this are uploaded as blocks. @default 8 MiB */
  readonly maxSingleShotSize?: number;
  /** @default 4 MiB */
  readonly blockSize?: number;
  /** An operation that sends or receives no byte for this long is abandoned and fails as a
   *  transient error (so `withRetry` retries it). @default 60000 */
  readonly idleTimeoutMs?: number;
}

/**
 * A store in an Azure Blob Storage container. Small objects are one Put Blob; larger ones are
 * staged as blocks and become visible only when the block list is committed, so readers never see
 * a partial object. The SDK's own retries are off: retrying is the job of `withRetry`.
 * @throws UsageError when `@azure/storage-blob` is not installed or the endpoint is invalid.
 */
export async function createAzureBlobStore(options: AzureBlobStoreOptions): Promise<Store> {
  const container = await openAzureContainer(options);
  const prefix = prefixFolder(options.prefix ?? '');
  const name = remoteStoreName('azure', `${options.account}/${options.container}`, prefix);
  const maxSingleShot = options.maxSingleShotSize ?? 8 * 1024 * 1024;
  const blockSize = options.blockSize ?? 4 * 1024 * 1024;
  const connections = options.connections ?? REMOTE_CONNECTIONS;
  const idle = (signal: AbortSignal | undefined): IdleWatch =>
    watchIdle(options.idleTimeoutMs ?? 60_000, signal);

  const blob = (key: string): BlockBlobClient => container.getBlockBlobClient(prefix + key);
  const fail = (
    op: string,
    key: string,
    error: unknown,
    signal?: AbortSignal,
    locking = false,
  ): Error => {
    const facts = _facts(error);
    const hint =
      locking && facts.status === 501
        ? 'this service does not support immutability policies'
        : facts.code === 'AbortError'
          ? 'the connection ended before the response was complete'
          : _rejectsCredential(facts.code)
            ? 'the service rejected the credential or the request: check the key, SAS or connection string, and the account firewall'
            : undefined;
    return toStoreError(name, op, key, error, facts, signal, hint);
  };
  const policy = (until: Date | undefined): BlobImmutabilityPolicy | undefined =>
    until && options.immutability
      ? { expiriesOn: until, policyMode: options.immutability }
      : undefined;
  const tierOf = (key: string): AzureAccessTier | undefined =>
    options.tiers?.[key.split('/')[0] ?? ''] ?? options.tiers?.default;

  const upload = (key: string, data: Uint8Array, opts: PutOptions, watch: IdleWatch) =>
    uploadBlockBlob(blob(key), data, {
      maxSingleShot,
      blockSize,
      concurrency: Math.min(4, connections),
      tier: tierOf(key),
      immutabilityPolicy: policy(opts.retainUntil),
      signal: watch.signal,
      onProgress: watch.touch,
    });

  // Azurite (and possibly other emulators) accepts the immutability headers on upload and
  // silently ignores them, so check that the policy really applies before reporting success.
  /** Whether the blob's immutability policy holds it until `until` (whole seconds). */
  /** The blob's immutability policy mode and expiry, if any. */
  const retentionOf = async (key: string, signal?: AbortSignal): Promise<HeldRetention> => {
    const watch = idle(signal);
    try {
      const props = await blob(key).getProperties({ abortSignal: watch.signal });
      return { mode: props.immutabilityPolicyMode, until: props.immutabilityPolicyExpiresOn };
    } catch (error) {
      throw fail('read the retention of', key, watch.explain(error), signal);
    } finally {
      watch.stop();
    }
  };
  const verifyRetention = async (
    op: string,
    key: string,
    until: Date,
    signal?: AbortSignal,
  ): Promise<void> => {
    if (!holdsRetention(await retentionOf(key, signal), options.immutability, 'Locked', until)) {
      throw new StoreError(
        `[store:${name}] ${op} ${key}: the service answered but did not apply the immutability policy, so it is NOT protected (Azurite ignores these policies; on Azure the container needs version-level immutability support)`,
        { permanent: true, status: 501 },
      );
    }
  };

  /**
   * Holds `key` until `retainUntil`, never shortened nor weakened: a blob may be held longer
   * already (one a backup wrote after this maintenance began), or under a Locked policy in a store
   * now set to Unlocked, and an Unlocked policy would take an earlier date; one Unlocked under a
   * store now set to Locked is locked, at the later of the two dates.
   */
  const extendRetention = async (
    key: string,
    retainUntil: Date,
    signal?: AbortSignal,
  ): Promise<void> => {
    if (!options.immutability) return;
    const held = await retentionOf(key, signal);
    if (holdsRetention(held, options.immutability, 'Locked', retainUntil)) return;
    const wanted: BlobImmutabilityPolicy = {
      expiriesOn: held.until !== undefined && held.until > retainUntil ? held.until : retainUntil,
      policyMode: held.mode?.toLowerCase() === 'locked' ? 'Locked' : options.immutability,
    };
    const watch = idle(signal);
    try {
      await blob(key).setImmutabilityPolicy(wanted, { abortSignal: watch.signal });
    } catch (error) {
      throw fail('extend retention of', key, watch.explain(error), signal, true);
    } finally {
      watch.stop();
    }
    await verifyRetention('extend retention of', key, retainUntil, signal);
  };

  return {
    name,
    properties: {
      connections,
      remote: true,
      supportsRetention: options.immutability !== undefined,
    },

    async get(key: string, opts: GetOptions = {}): Promise<Buffer> {
      const { range, signal } = opts;
      const watch = idle(signal);
      try {
        if (range?.length === 0) {
          // A zero count means "to the end" to the service, so check the bounds with a HEAD.
          const props = await blob(key).getProperties({ abortSignal: watch.signal });
          const size = props.contentLength ?? 0;
          if (range.offset > size) throw _outside(name, key, range.offset, 0, size);
          return Buffer.alloc(0);
        }
        const response = await blob(key).download(range?.offset ?? 0, range?.length, {
          abortSignal: watch.signal,
          onProgress: watch.touch,
        });
        const body = await _collect(response.readableStreamBody);
        if (range && body.byteLength !== range.length) {
          throw _outside(name, key, range.offset, range.length, undefined);
        }
        return body;
      } catch (error) {
        if (error instanceof StoreError) throw error;
        if (_facts(error).status === 416 && range) {
          throw _outside(name, key, range.offset, range.length, undefined, error);
        }
        throw fail('get', key, watch.explain(error), signal);
      } finally {
        watch.stop();
      }
    },

    async put(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<void> {
      const watch = idle(opts.signal);
      try {
        try {
          await upload(key, data, opts, watch);
        } catch (error) {
          const { code } = _facts(error);
          // An immutable blob cannot be overwritten; hbr only re-puts identical bytes under a
          // key (names are hashes), so an existing object of the same size is this object.
          if (code === 'BlobImmutableDueToPolicy' || code === 'BlobImmutableDueToLegalHold') {
            const props = await blob(key).getProperties({ abortSignal: watch.signal });
            if (props.contentLength !== data.byteLength) throw error;
            // Held at least as long as asked, by the same rules as an extension.
            if (opts.retainUntil) await extendRetention(key, opts.retainUntil, opts.signal);
            return;
          }
          if (code !== 'ContainerNotFound') throw error;
          await container.createIfNotExists({ abortSignal: watch.signal });
          await upload(key, data, opts, watch);
        }
      } catch (error) {
        const locking = policy(opts.retainUntil) !== undefined;
        throw fail('put', key, watch.explain(error), opts.signal, locking);
      } finally {
        watch.stop();
      }
      const wanted = policy(opts.retainUntil);
      if (wanted) await verifyRetention('put', key, wanted.expiriesOn as Date, opts.signal);
    },

    async head(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo | undefined> {
      const watch = idle(opts.signal);
      try {
        const props = await blob(key).getProperties({ abortSignal: watch.signal });
        return { key, size: props.contentLength ?? 0, lastModified: props.lastModified };
      } catch (error) {
        if (_facts(error).status === 404) return undefined;
        throw fail('head', key, watch.explain(error), opts.signal);
      } finally {
        watch.stop();
      }
    },

    async *list(
      listPrefix: string,
      opts: { signal?: AbortSignal } = {},
    ): AsyncIterable<ObjectInfo> {
      const watch = idle(opts.signal);
      try {
        const pages = container
          .listBlobsFlat({ prefix: prefix + listPrefix, abortSignal: watch.signal })
          .byPage({ maxPageSize: 5000 });
        for await (const page of pages) {
          // The clock stops while the caller consumes the page, which may take any time.
          watch.stop();
          for (const item of page.segment.blobItems) {
            yield {
              key: item.name.slice(prefix.length),
              size: item.properties.contentLength ?? 0,
              lastModified: item.properties.lastModified,
            };
          }
          watch.touch();
        }
      } catch (error) {
        // A missing container holds no objects.
        if (_facts(error).code === 'ContainerNotFound') return;
        throw fail('list', listPrefix, watch.explain(error), opts.signal);
      } finally {
        watch.stop();
      }
    },

    async delete(key: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
      const watch = idle(opts.signal);
      try {
        await blob(key).deleteIfExists({ abortSignal: watch.signal });
      } catch (error) {
        const { status, code } = _facts(error);
        // A wrong key or SAS signature is a 403 too, but it is no refusal to delete: callers
        // that tolerate refused deletes (lock release) must not take it for one.
        if (
          (status === 403 && !_rejectsCredential(code)) ||
          code === 'BlobImmutableDueToPolicy' ||
          code === 'BlobImmutableDueToLegalHold'
        ) {
          const why =
            status === 403
              ? 'this credential cannot delete'
              : 'the object is retained and cannot be deleted yet';
          throw new DeleteForbiddenError(
            `[store:${name}] delete ${key}: ${why} (${status ?? ''} ${code ?? ''})`,
            { cause: error },
          );
        }
        if (code === 'ContainerNotFound') return;
        throw fail('delete', key, watch.explain(error), opts.signal);
      } finally {
        watch.stop();
      }
    },

    extendRetention: (key: string, retainUntil: Date, opts: { signal?: AbortSignal } = {}) =>
      extendRetention(key, retainUntil, opts.signal),
  };
}

// --- internal ---

/**
 * 403 codes saying the request as a whole was not accepted (a wrong key or SAS signature, an
 * expired SAS, a SAS used from outside its IP range or over HTTP, a firewall), rather than that
 * the credential lacks one permission (AuthorizationPermissionMismatch). Azure answers a wrong
 * key with AuthenticationFailed, Azurite with AuthorizationFailure.
 */
const CREDENTIAL_REJECTED: ReadonlySet<string> = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationSourceIPMismatch',
  'AuthorizationProtocolMismatch',
]);

function _rejectsCredential(code: string | undefined): boolean {
  return code !== undefined && CREDENTIAL_REJECTED.has(code);
}

function _outside(
  name: string,
  key: string,
  offset: number,
  length: number,
  size: number | undefined,
  cause?: unknown,
): StoreError {
  const of = size === undefined ? '' : ` (${size} bytes)`;
  return new StoreError(
    `[store:${name}] get ${key}: range ${offset}+${length} is outside the object${of}`,
    { permanent: true, status: 416, cause },
  );
}

async function _collect(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

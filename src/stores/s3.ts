import type {
  HeadObjectCommandOutput,
  S3Client,
  S3ClientConfig,
  StorageClass,
} from '@aws-sdk/client-s3';
import { DeleteForbiddenError, StoreError, UsageError } from '../errors.ts';
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

/** Static S3 credentials (from environment variables or a file, never from a URL). */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/** Options of {@link createS3Store}. */
export interface S3StoreOptions {
  readonly bucket: string;
  /** Folder inside the bucket, e.g. `hbr/prod`. @default '' */
  readonly prefix?: string;
  /** Service URL for S3-compatible servers (MinIO, s3proxy, Ceph…). @default AWS for the region */
  readonly endpoint?: string | undefined;
  /** @default 'us-east-1' */
  readonly region?: string | undefined;
  /** Address buckets as `endpoint/bucket` rather than `bucket.endpoint`. @default false */
  readonly pathStyle?: boolean;
  /** @default the SDK's chain (AWS_* variables, ~/.aws files, instance roles) */
  readonly credentials?: S3Credentials | undefined;
  /** Storage class per object class (a key's first segment: `data`, `index`, …) or `default`. */
  readonly storageClasses?: Readonly<Record<string, StorageClass>>;
  /** With this set, `put` with `retainUntil` and `extendRetention` set an Object Lock retention in
   *  this mode; the bucket must have Object Lock enabled. @default undefined: retention unsupported */
  readonly objectLock?: 'GOVERNANCE' | 'COMPLIANCE' | undefined;
  /** @default REMOTE_CONNECTIONS */
  readonly connections?: number;
  /** Objects larger than this are uploaded in parts of this size (≥ 5 MiB). @default 8 MiB */
  readonly partSize?: number;
  /** A request that sends or receives no byte for this long is abandoned and fails as a
   *  transient error (so `withRetry` retries it). @default 60000 */
  readonly idleTimeoutMs?: number;
}

/**
 * A store in an S3 bucket (AWS or any S3-compatible server). Objects above `partSize` go up as a
 * multipart upload, which S3 makes visible only on completion, so readers never see a partial
 * object. The SDK's own retries are off: retrying is the job of `withRetry`.
 * @throws UsageError when `@aws-sdk/client-s3` / `@aws-sdk/lib-storage` are not installed.
 */
export async function createS3Store(options: S3StoreOptions): Promise<Store> {
  const [s3, storage] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/lib-storage'),
  ]).catch((error: unknown) => {
    throw new UsageError(
      '[store:s3] S3 support needs the AWS SDK: npm install @aws-sdk/client-s3 @aws-sdk/lib-storage',
      { cause: error },
    );
  });
  const Bucket = options.bucket;
  const prefix = prefixFolder(options.prefix ?? '');
  const name = remoteStoreName('s3', Bucket, prefix);
  const connections = options.connections ?? REMOTE_CONNECTIONS;
  const partSize = Math.max(options.partSize ?? 8 * 1024 * 1024, 5 * 1024 * 1024);
  const config: S3ClientConfig = {
    region: options.region ?? 'us-east-1',
    endpoint: options.endpoint,
    forcePathStyle: options.pathStyle ?? false,
    credentials: options.credentials,
    maxAttempts: 1,
    requestHandler: {
      // An idle timeout rather than `requestTimeout`, which only logs a warning (unless
      // `throwOnRequestTimeout`) and would cut off a large download that is still flowing. The
      // handler destroys a stalled response with a TimeoutError, which store-error treats as
      // transient.
      socketTimeout: options.idleTimeoutMs ?? 60_000,
      connectionTimeout: 10_000,
    },
  };
  const client: S3Client = new s3.S3Client(config);
  const fail = (
    op: string,
    key: string,
    error: unknown,
    signal?: AbortSignal,
    locking = false,
  ): Error => {
    const facts = _facts(error);
    // s3proxy and other S3-compatible servers answer Object Lock requests with 501.
    const hint =
      locking && facts.status === 501
        ? 'this server does not support S3 Object Lock'
        : _rejectsCredential(facts.code)
          ? 'the server rejected the credential: check the access key id and secret'
          : undefined;
    return toStoreError(name, op, key, error, facts, signal, hint);
  };
  const classOf = (key: string): StorageClass | undefined =>
    options.storageClasses?.[key.split('/')[0] ?? ''] ?? options.storageClasses?.default;
  const lock = (until: Date | undefined) =>
    until && options.objectLock
      ? { ObjectLockMode: options.objectLock, ObjectLockRetainUntilDate: until }
      : {};

  const upload = async (key: string, data: Uint8Array, opts: PutOptions): Promise<void> => {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // lib-storage sends one PutObject below partSize, else a multipart upload that it aborts
      // on failure so no parts linger.
      const params = {
        Bucket,
        Key: prefix + key,
        Body: data,
        StorageClass: classOf(key),
        ...lock(opts.retainUntil),
      };
      const job = new storage.Upload({
        client,
        params,
        partSize,
        queueSize: Math.min(4, connections),
        leavePartsOnError: false,
        abortController: controller,
      });
      await job.done();
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  };

  // An S3-compatible server may accept the Object Lock headers and silently ignore them, as
  // Azurite does immutability policies, so read the retention back before reporting success.
  /** Whether the object is held in this store's lock mode until `until` (whole seconds). */
  /** The object's Object Lock mode and retain-until date, if any. */
  const retentionOf = async (key: string, signal?: AbortSignal): Promise<HeldRetention> => {
    let head: HeadObjectCommandOutput;
    try {
      head = await client.send(new s3.HeadObjectCommand({ Bucket, Key: prefix + key }), {
        abortSignal: signal,
      });
    } catch (error) {
      throw fail('read the retention of', key, error, signal);
    }
    return { mode: head.ObjectLockMode, until: head.ObjectLockRetainUntilDate };
  };
  const verifyRetention = async (
    op: string,
    key: string,
    until: Date,
    signal?: AbortSignal,
    mode = options.objectLock,
  ): Promise<void> => {
    if (!holdsRetention(await retentionOf(key, signal), mode, 'COMPLIANCE', until)) {
      throw new StoreError(
        `[store:${name}] ${op} ${key}: the server answered but did not apply the Object Lock retention (${mode ?? ''} until ${until.toISOString()}), so it is NOT protected (the server ignores Object Lock, or on AWS the credential lacks s3:GetObjectRetention to read it back)`,
        { permanent: true, status: 501 },
      );
    }
  };

  return {
    name,
    properties: {
      connections,
      remote: true,
      supportsRetention: options.objectLock !== undefined,
    },

    async get(key: string, opts: GetOptions = {}): Promise<Buffer> {
      const { range, signal } = opts;
      try {
        if (range?.length === 0) {
          // "bytes=N-(N-1)" is not a valid range; check the bounds with a HEAD instead.
          const head = await client.send(new s3.HeadObjectCommand({ Bucket, Key: prefix + key }), {
            abortSignal: signal,
          });
          if (range.offset > (head.ContentLength ?? 0)) throw _outside(name, key, range.offset, 0);
          return Buffer.alloc(0);
        }
        const Range = range
          ? `bytes=${range.offset}-${range.offset + range.length - 1}`
          : undefined;
        const response = await client.send(
          new s3.GetObjectCommand({ Bucket, Key: prefix + key, Range }),
          { abortSignal: signal },
        );
        const body = Buffer.from((await response.Body?.transformToByteArray()) ?? new Uint8Array());
        if (range && body.byteLength !== range.length)
          throw _outside(name, key, range.offset, range.length);
        return body;
      } catch (error) {
        if (error instanceof StoreError) throw error;
        if (range && _facts(error).status === 416)
          throw _outside(name, key, range.offset, range.length, error);
        throw fail('get', key, error, signal);
      }
    },

    async put(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<void> {
      try {
        try {
          await upload(key, data, opts);
        } catch (error) {
          if (_facts(error).code !== 'NoSuchBucket') throw error;
          const created = new s3.CreateBucketCommand({
            Bucket,
            ObjectLockEnabledForBucket: options.objectLock !== undefined ? true : undefined,
          });
          await client.send(created, { abortSignal: opts.signal }).catch((createError: unknown) => {
            // Another writer may have created it in the meantime.
            if (
              !['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(
                _facts(createError).code ?? '',
              )
            )
              throw createError;
          });
          await upload(key, data, opts);
        }
      } catch (error) {
        throw fail('put', key, error, opts.signal, options.objectLock !== undefined);
      }
      if (options.objectLock && opts.retainUntil)
        await verifyRetention('put', key, opts.retainUntil, opts.signal);
    },

    async head(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo | undefined> {
      try {
        const head = await client.send(new s3.HeadObjectCommand({ Bucket, Key: prefix + key }), {
          abortSignal: opts.signal,
        });
        return { key, size: head.ContentLength ?? 0, lastModified: head.LastModified };
      } catch (error) {
        if (_facts(error).status === 404) return undefined;
        throw fail('head', key, error, opts.signal);
      }
    },

    async *list(
      listPrefix: string,
      opts: { signal?: AbortSignal } = {},
    ): AsyncIterable<ObjectInfo> {
      let ContinuationToken: string | undefined;
      try {
        do {
          const command = new s3.ListObjectsV2Command({
            Bucket,
            Prefix: prefix + listPrefix,
            ContinuationToken,
          });
          const page = await client.send(command, { abortSignal: opts.signal });
          for (const item of page.Contents ?? []) {
            if (item.Key !== undefined)
              yield {
                key: item.Key.slice(prefix.length),
                size: item.Size ?? 0,
                lastModified: item.LastModified,
              };
          }
          // Ending here would pass a short listing off as complete (a short snapshots/ listing
          // lets prune take live packs for unused).
          if (page.IsTruncated && !page.NextContinuationToken) {
            throw new StoreError(
              `[store:${name}] list ${listPrefix}: the server says the listing goes on but sent no continuation token`,
              { permanent: true },
            );
          }
          ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (ContinuationToken);
      } catch (error) {
        if (error instanceof StoreError) throw error;
        // A missing bucket holds no objects.
        if (_facts(error).code === 'NoSuchBucket') return;
        throw fail('list', listPrefix, error, opts.signal);
      }
    },

    async delete(key: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
      try {
        await client.send(new s3.DeleteObjectCommand({ Bucket, Key: prefix + key }), {
          abortSignal: opts.signal,
        });
      } catch (error) {
        const { status, code } = _facts(error);
        // A wrong key or secret is a 403 too, but it is no refusal to delete: callers that
        // tolerate refused deletes (lock release) must not take it for one.
        if (status === 403 && !_rejectsCredential(code)) {
          throw new DeleteForbiddenError(
            `[store:${name}] delete ${key}: this credential cannot delete or the object is locked (403 ${code ?? ''})`,
            { cause: error },
          );
        }
        if (status === 404) return;
        throw fail('delete', key, error, opts.signal);
      }
    },

    async extendRetention(
      key: string,
      retainUntil: Date,
      opts: { signal?: AbortSignal } = {},
    ): Promise<void> {
      if (!options.objectLock) return;
      // Never shortened nor weakened: an object may be held longer already (one a backup wrote
      // after this maintenance began), or in COMPLIANCE under a store now set to GOVERNANCE; S3
      // refuses an earlier date or a weaker mode without the governance bypass.
      const held = await retentionOf(key, opts.signal);
      if (holdsRetention(held, options.objectLock, 'COMPLIANCE', retainUntil)) return;
      // An object keeps the mode it is held in: COMPLIANCE cannot be weakened, and GOVERNANCE
      // becomes COMPLIANCE only with the governance bypass, which hbr never sends. Extended in
      // GOVERNANCE under a store set to COMPLIANCE, it is held as long, in the weaker mode.
      const heldMode = held.mode?.toUpperCase();
      const Mode =
        heldMode === 'COMPLIANCE' || heldMode === 'GOVERNANCE' ? heldMode : options.objectLock;
      const RetainUntilDate =
        held.until !== undefined && held.until > retainUntil ? held.until : retainUntil;
      try {
        const Retention = { Mode, RetainUntilDate };
        await client.send(
          new s3.PutObjectRetentionCommand({ Bucket, Key: prefix + key, Retention }),
          { abortSignal: opts.signal },
        );
      } catch (error) {
        throw fail('extend retention of', key, error, opts.signal, true);
      }
      await verifyRetention('extend retention of', key, retainUntil, opts.signal, Mode);
    },

    close(): Promise<void> {
      client.destroy();
      return Promise.resolve();
    },
  };
}

// --- internal ---

/** S3 error codes saying the credential itself was not accepted (wrong, expired, clock off). */
const CREDENTIAL_REJECTED: ReadonlySet<string> = new Set([
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'RequestTimeTooSkewed',
  'InvalidSecurity',
]);

function _rejectsCredential(code: string | undefined): boolean {
  return code !== undefined && CREDENTIAL_REJECTED.has(code);
}

function _facts(error: unknown): { status: number | undefined; code: string | undefined } {
  const e = error as {
    $metadata?: { httpStatusCode?: unknown };
    name?: unknown;
    code?: unknown;
    Code?: unknown;
  };
  const status =
    typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  // Service errors carry their S3 code as the name; socket errors carry a Node `code`.
  const code =
    typeof e.code === 'string'
      ? e.code
      : typeof e.Code === 'string'
        ? e.Code
        : typeof e.name === 'string' && e.name !== 'Error'
          ? e.name
          : undefined;
  return { status, code };
}

function _outside(
  name: string,
  key: string,
  offset: number,
  length: number,
  cause?: unknown,
): StoreError {
  return new StoreError(
    `[store:${name}] get ${key}: range ${offset}+${length} is outside the object`,
    { permanent: true, status: 416, cause },
  );
}

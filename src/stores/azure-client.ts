/**
 * Low-level helpers of the Azure Blob store: building the SDK client (imported lazily), reading
 * SDK errors, and uploading one block blob in a single request or as staged blocks.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type {
  BlobImmutabilityPolicy,
  BlockBlobClient,
  ContainerClient,
  StoragePipelineOptions,
} from '@azure/storage-blob';
import pLimit from 'p-limit';
import { UsageError } from '../errors.ts';
import type { AzureCredential } from './azure-credential.ts';
import type { FailureFacts } from './store-error.ts';

/** What {@link openAzureContainer} needs. */
export interface AzureContainerSpec {
  readonly account: string;
  readonly container: string;
  /** @default the connection string's BlobEndpoint, else `https://ACCOUNT.blob.core.windows.net` */
  readonly endpoint?: string | undefined;
  readonly credential: AzureCredential;
}

/**
 * Builds a client for one container with the SDK's retries off (retrying is `withRetry`'s job).
 * @throws UsageError when `@azure/storage-blob` is missing or the endpoint/credential is unusable.
 */
export async function openAzureContainer(spec: AzureContainerSpec): Promise<ContainerClient> {
  const sdk = await import('@azure/storage-blob').catch((error: unknown) => {
    throw new UsageError(
      '[store:azure] Azure support needs @azure/storage-blob: npm install @azure/storage-blob',
      { cause: error },
    );
  });
  // No tryTimeoutInMs: it only asks the service for a server-side timeout, and the HTTP client
  // stops its own clock once headers arrive, so a stalled body would still hang. The store
  // watches for stalls itself (watchIdle).
  const pipeline: StoragePipelineOptions = { retryOptions: { maxTries: 1 } };
  const cred = spec.credential;
  const endpoint = (spec.endpoint ?? `https://${spec.account}.blob.core.windows.net`).replace(
    /\/+$/,
    '',
  );
  try {
    const service =
      cred.kind === 'connection-string' && spec.endpoint === undefined
        ? sdk.BlobServiceClient.fromConnectionString(cred.connectionString, pipeline)
        : cred.kind === 'sas'
          ? new sdk.BlobServiceClient(
              `${endpoint}?${cred.token}`,
              new sdk.AnonymousCredential(),
              pipeline,
            )
          : new sdk.BlobServiceClient(
              endpoint,
              new sdk.StorageSharedKeyCredential(spec.account, _key(cred)),
              pipeline,
            );
    return service.getContainerClient(spec.container);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `[store:azure:${spec.account}/${spec.container}] bad endpoint or credential: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Status and error code of an Azure SDK error (service errors) or a socket error. */
export function azureFacts(error: unknown): FailureFacts {
  const e = error as {
    statusCode?: unknown;
    code?: unknown;
    name?: unknown;
    details?: { errorCode?: unknown };
  };
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  // The service's error code is in details.errorCode; socket errors set `code`; a connection
  // that ended mid-response is only recognisable by its name, AbortError.
  const code =
    typeof e.details?.errorCode === 'string'
      ? e.details.errorCode
      : typeof e.code === 'string'
        ? e.code
        : e.name === 'AbortError'
          ? e.name
          : undefined;
  return { status, code };
}

/** An abort signal for one operation that also fires when no bytes move for a while. */
export interface IdleWatch {
  /** Aborts when the caller's signal does or when `touch` was not called for the idle time. */
  readonly signal: AbortSignal;
  /** Restarts the clock; call it whenever bytes arrive or leave. */
  readonly touch: () => void;
  /** Stops the clock; call it when the operation ends. */
  readonly stop: () => void;
  /** `error`, or a transient-coded timeout error (with `error` as cause) if the clock ran out. */
  readonly explain: (error: unknown) => unknown;
}

/**
 * Starts an idle clock of `ms` for one operation. The Azure SDK has no idle timeout of its own:
 * its request timeout ends when headers arrive, so a body that stops half way hangs forever.
 */
export function watchIdle(ms: number, parent?: AbortSignal): IdleWatch {
  const controller = new AbortController();
  const signal = parent ? AbortSignal.any([parent, controller.signal]) : controller.signal;
  let timer: NodeJS.Timeout | undefined;
  const watch: IdleWatch = {
    signal,
    touch: () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), ms).unref();
    },
    stop: () => clearTimeout(timer),
    explain: (error) => {
      if (!controller.signal.aborted || parent?.aborted) return error;
      // ETIMEDOUT makes store-error classify it as transient.
      return Object.assign(
        new Error(`no bytes from the service for ${ms / 1000} s`, { cause: error }),
        { code: 'ETIMEDOUT' },
      );
    },
  };
  watch.touch();
  return watch;
}

/** How {@link uploadBlockBlob} writes. */
export interface BlockUploadOptions {
  /** Larger data is staged as blocks. */
  readonly maxSingleShot: number;
  readonly blockSize: number;
  /** Blocks staged at once. */
  readonly concurrency: number;
  readonly tier?: string | undefined;
  readonly immutabilityPolicy?: BlobImmutabilityPolicy | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Called as bytes go out (see {@link IdleWatch.touch}). */
  readonly onProgress?: (() => void) | undefined;
}

/**
 * Writes `data` as one Put Blob, or stages blocks and commits the list. Either way the blob
 * appears whole or not at all.
 */
export async function uploadBlockBlob(
  target: BlockBlobClient,
  data: Uint8Array,
  options: BlockUploadOptions,
): Promise<void> {
  const { blockSize, signal, onProgress } = options;
  const common = {
    tier: options.tier,
    immutabilityPolicy: options.immutabilityPolicy,
    abortSignal: signal,
  };
  if (data.byteLength <= options.maxSingleShot) {
    await target.upload(data, data.byteLength, { ...common, onProgress });
    return;
  }
  // A random id per upload keeps two concurrent uploads of one key from committing each other's
  // blocks. Block ids of one blob must all have the same length.
  const upload = randomBytes(6).toString('hex');
  const count = Math.ceil(data.byteLength / blockSize);
  const ids = Array.from({ length: count }, (_, i) =>
    Buffer.from(`${upload}-${String(i).padStart(6, '0')}`).toString('base64'),
  );
  const limit = pLimit(options.concurrency);
  await Promise.all(
    ids.map((id, index) =>
      limit(async () => {
        const part = data.subarray(index * blockSize, (index + 1) * blockSize);
        await target.stageBlock(id, part, part.byteLength, { abortSignal: signal, onProgress });
      }),
    ),
  );
  await target.commitBlockList(ids, common);
}

// --- internal ---

function _key(cred: AzureCredential): string {
  if (cred.kind === 'shared-key') return cred.accountKey;
  // A connection string with an explicit endpoint: use its key against that endpoint.
  const key =
    cred.kind === 'connection-string'
      ? /(?:^|;)\s*AccountKey=([^;]+)/i.exec(cred.connectionString)?.[1]
      : undefined;
  if (!key)
    throw new UsageError(
      '[store:azure] the connection string has no AccountKey to use with an explicit endpoint',
    );
  return key;
}

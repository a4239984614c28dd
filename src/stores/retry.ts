import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { InterruptedError, isHbrError, type StoreError } from '../errors.ts';
import type { GetOptions, ObjectInfo, PutOptions, Store } from './types.ts';

/** One failed attempt that is about to be retried. */
export interface RetryEvent {
  readonly store: string;
  readonly op: 'get' | 'put' | 'head' | 'list' | 'delete' | 'extendRetention';
  readonly key: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly error: Error;
}

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** Retries after the first attempt. @default 8 */
  readonly retries?: number;
  /** Delay before the first retry; later delays grow by `factor`. @default 500 */
  readonly minDelayMs?: number;
  /** @default 30000 */
  readonly maxDelayMs?: number;
  /** @default 2 */
  readonly factor?: number;
  /** Called before each retry, e.g. to log it. */
  readonly onRetry?: (event: RetryEvent) => void;
}

/**
 * Wraps a store so that transient failures (`StoreError` with `permanent: false`: network
 * errors, timeouts, throttling, 5xx) are retried with exponential backoff and full jitter
 * (each delay is multiplied by a random factor between 1 and 2). Permanent errors, deletes the
 * credential may not do, and cancellations fail at once. With the defaults a store may be away for
 * about a minute (0.5 s doubling to 30 s, 8 retries) before the error is passed on.
 *
 * `list` restarts after a transient failure and skips the keys it already yielded, so it keeps
 * every yielded key in memory until the listing ends.
 * @example
 * const store = withRetry(await createS3Store(options), { onRetry: (e) => log.warn(e) });
 */
export function withRetry(store: Store, options: RetryOptions = {}): Store {
  const retries = options.retries ?? 8;
  const minDelay = options.minDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const factor = options.factor ?? 2;
  // An abort during a backoff pause surfaces as the signal's reason; report it as hbr's own.
  const cancelled = (
    op: string,
    key: string,
    signal: AbortSignal | undefined,
    error: unknown,
  ): unknown =>
    signal?.aborted && !isHbrError(error)
      ? new InterruptedError(`[store:${store.name}] ${op} ${key}: cancelled`, { cause: error })
      : error;
  const retried = <T>(
    op: RetryEvent['op'],
    key: string,
    signal: AbortSignal | undefined,
    run: () => Promise<T>,
  ): Promise<T> =>
    pRetry(run, {
      retries,
      minTimeout: minDelay,
      maxTimeout: maxDelay,
      factor,
      randomize: true,
      signal,
      shouldRetry: ({ error }) => isTransientStoreError(error),
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        if (retriesLeft > 0 && isTransientStoreError(error)) {
          options.onRetry?.({ store: store.name, op, key, attempt: attemptNumber, error });
        }
      },
    }).catch((error: unknown) => {
      throw cancelled(op, key, signal, error);
    });

  const wrapped: Store = {
    name: store.name,
    properties: store.properties,
    get: (key: string, opts: GetOptions = {}) =>
      retried('get', key, opts.signal, () => store.get(key, opts)),
    put: (key: string, data: Uint8Array, opts: PutOptions = {}) =>
      retried('put', key, opts.signal, () => store.put(key, data, opts)),
    head: (key: string, opts: { signal?: AbortSignal } = {}) =>
      retried('head', key, opts.signal, () => store.head(key, opts)),
    delete: (key: string, opts: { signal?: AbortSignal } = {}) =>
      retried('delete', key, opts.signal, () => store.delete(key, opts)),

    async *list(prefix: string, opts: { signal?: AbortSignal } = {}): AsyncIterable<ObjectInfo> {
      const seen = new Set<string>();
      for (let attempt = 1; ; attempt++) {
        try {
          for await (const info of store.list(prefix, opts)) {
            if (seen.has(info.key)) continue;
            seen.add(info.key);
            yield info;
          }
          return;
        } catch (error) {
          if (!isTransientStoreError(error) || attempt > retries) throw error;
          options.onRetry?.({ store: store.name, op: 'list', key: prefix, attempt, error });
          const delay = Math.min(
            minDelay * factor ** (attempt - 1) * (1 + Math.random()),
            maxDelay,
          );
          await sleep(delay, undefined, { signal: opts.signal }).catch((abort: unknown) => {
            throw cancelled('list', prefix, opts.signal, abort);
          });
        }
      }
    },
  };
  if (store.extendRetention) {
    wrapped.extendRetention = (key, until, opts = {}) =>
      retried('extendRetention', key, opts.signal, () => store.extendRetention!(key, until, opts));
  }
  // Not retried: a writer's bytes are gone once written, so a failure fails the object (the
  // caller starts a new one); stores that offer writers write to a local disk, where a retry
  // would rarely help anyway.
  if (store.createWriter) wrapped.createWriter = (opts) => store.createWriter!(opts);
  // Not retried either: what one pass leaves, the next prune removes.
  if (store.removeTemporary) wrapped.removeTemporary = (opts) => store.removeTemporary!(opts);
  if (store.close) wrapped.close = () => store.close!();
  return wrapped;
}

/** Whether `error` is a store failure that a later attempt may not meet. */
export function isTransientStoreError(error: unknown): error is StoreError {
  // By code rather than instanceof, which fails across realms and duplicated modules.
  return isHbrError(error) && error.code === 'STORE' && (error as StoreError).permanent === false;
}

/**
 * Turning SDK and network failures of remote stores into `StoreError`s with a `permanent` flag,
 * shared by the Azure and S3 stores so both classify failures the same way.
 * @module
 */
import { InterruptedError, StoreError } from '../errors.ts';

/** Error codes of sockets and DNS that a later attempt may not meet. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'REQUEST_SEND_ERROR',
  // Azure: a response body that could not be parsed, which in practice is one cut off by a
  // dropped connection (a listing page, an error document).
  'PARSE_ERROR',
]);

/** Error names the SDKs give to failures that a retry can cure (timeouts, throttling). */
const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'ThrottlingException',
  'ServiceUnavailable',
  'InternalError',
  // Azure reports a connection that ended mid-response as an AbortError. The caller's own abort
  // never gets here: toStoreError turns it into an InterruptedError first.
  'AbortError',
]);

/** What a remote store learned about a failed request. */
export interface FailureFacts {
  /** HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** The service's error code (`BlobNotFound`, `NoSuchKey`, `AccessDenied`) or the socket's. */
  readonly code: string | undefined;
}

/**
 * Whether a retry could help: throttling, timeouts, 5xx other than "not implemented", and
 * network failures without a response. Everything else (4xx, 501) is permanent.
 */
export function isTransient(facts: FailureFacts): boolean {
  const { status, code } = facts;
  if (code !== undefined && (TRANSIENT_CODES.has(code) || TRANSIENT_NAMES.has(code))) return true;
  if (status === undefined) return false;
  if (status === 408 || status === 429) return true;
  return status >= 500 && status !== 501 && status !== 505;
}

/**
 * Builds the `StoreError` for a failed operation, or an `InterruptedError` when `signal` was
 * aborted (an abort is the caller's decision, not a store failure, and must not be retried).
 * `hint`, when given, is appended in parentheses to tell the user what the failure means.
 */
export function toStoreError(
  store: string,
  op: string,
  key: string,
  error: unknown,
  facts: FailureFacts,
  signal?: AbortSignal,
  hint?: string,
): StoreError | InterruptedError {
  if (signal?.aborted) {
    return new InterruptedError(`[store:${store}] ${op} ${key}: cancelled`, { cause: error });
  }
  const detail = [facts.status, facts.code].filter((part) => part !== undefined).join(' ');
  const message = _firstLine(error);
  const reason = detail && !message.includes(detail) ? `${detail}: ${message}` : message || detail;
  const suffix = hint ? ` (${hint})` : '';
  return new StoreError(`[store:${store}] ${op} ${key}: ${reason}${suffix}`, {
    permanent: !isTransient(facts),
    status: facts.status,
    cause: error,
  });
}

// --- internal ---

function _firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // Azure appends RequestId and Time lines; the first line is the useful part.
  return (text.split('\n')[0] ?? '').trim();
}

/**
 * Bolt connections through the official `neo4j-driver`, with errors turned into messages a user
 * can act on (wrong password, server down).
 * @module
 */
import neo4j, { type Driver } from 'neo4j-driver';
import { SourceError } from '../../errors.ts';

/** How to reach a server over Bolt. */
export interface BoltOptions {
  /** e.g. `bolt://127.0.0.1:7687` or `neo4j://…`. */
  readonly url: string;
  readonly user: string;
  readonly password: string;
}

/**
 * Opens a driver (no connection is made until the first query). `retry: false`: each query is
 * one attempt; else the driver retries unavailable servers itself, sleeping 1, 2, 4… s between
 * attempts (its default, up to 30 s), which a poller that tries every few hundred milliseconds
 * does not want.
 */
export function openBolt(options: BoltOptions, o: { retry?: boolean } = {}): Driver {
  return neo4j.driver(options.url, neo4j.auth.basic(options.user, options.password), {
    // Full timeouts come from the caller's AbortSignal; this only bounds one connect attempt.
    connectionTimeout: 10_000,
    maxConnectionPoolSize: 4,
    disableLosslessIntegers: false,
    ...(o.retry === false ? { maxTransactionRetryTime: 0 } : {}),
  });
}

/** True when the error says the credentials were rejected (retrying will not help). */
export function isAuthError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('Neo.ClientError.Security.');
}

/** True when the error says the server is not (yet) reachable or ready. */
export function isUnavailableError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    code === 'ServiceUnavailable' ||
    code === 'SessionExpired' ||
    (typeof code === 'string' && code.startsWith('Neo.TransientError.'))
  );
}

/** Wraps a Bolt failure in a SourceError naming the URL and, for auth failures, the user. */
export function boltError(options: BoltOptions, what: string, error: unknown): SourceError {
  if (isAuthError(error)) return authenticationError(options, error);
  const message = error instanceof Error ? error.message : String(error);
  return new SourceError(`[neo4j] ${options.url}: ${what}: ${message}`, { cause: error });
}

/** Converts a driver Integer (or number/bigint) to a JS number; counts stay far below 2^53. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (neo4j.isInt(value)) return value.toNumber();
  throw new TypeError(`expected an integer, got ${typeof value}`);
}

/**
 * Authenticates once, alone: queries side by side with a wrong password would each fail, and
 * the server locks the user out after a few failures in a row.
 * @throws SourceError when the credentials are rejected or the server cannot be reached.
 */
export async function verifyCredentials(driver: Driver, options: BoltOptions): Promise<void> {
  let accepted: boolean;
  try {
    accepted = await driver.verifyAuthentication({ database: 'system' });
  } catch (error) {
    throw boltError(options, 'connect', error);
  }
  if (!accepted) throw authenticationError(options);
}

// --- internal ---

function authenticationError(options: BoltOptions, cause?: unknown): SourceError {
  return new SourceError(
    `[neo4j] ${options.url}: authentication failed for user '${options.user}' (wrong password?)`,
    cause !== undefined ? { cause } : {},
  );
}

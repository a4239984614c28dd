/**
 * How many reads of a store a reader keeps in flight.
 * @module
 */
import type { StoreProperties } from './types.ts';

/**
 * Reads of `store` to keep in flight: `local` (as many as hide a local disk's wait, few enough
 * for the memory they hold) when the store is local; for a remote one, at least its
 * `connections`, since each read waits a round trip before its first byte. Behind 100 ms, the
 * six reads of about 1 MiB a restore keeps in flight on a local disk bounded it to 60 MB/s.
 */
export function readsInFlight(
  store: { readonly properties: StoreProperties },
  local: number,
): number {
  const { remote, connections } = store.properties;
  return remote ? Math.max(local, connections) : local;
}

/**
 * A store decorator that gives every object hbr writes a retain-until date, where the store
 * supports object retention (S3 Object Lock, Azure immutability): the "set a retain-until on
 * written objects" half of immutability; `hbr maintain` extends it for what kept backups need.
 * @module
 */
import type { Store } from './types.ts';

/**
 * Wraps `store` so that `put` passes `retainUntil = retainUntilOf(now)` for every object but
 * locks (which must stay deletable). Stores without retention support are returned unchanged.
 */
export function withRetention(store: Store, retainUntilOf: (now: Date) => Date): Store {
  if (!store.properties.supportsRetention) return store;
  const wrapped: Store = {
    ...store,
    put(key, data, options = {}) {
      if (key.startsWith('locks/') || options.retainUntil) return store.put(key, data, options);
      return store.put(key, data, { ...options, retainUntil: retainUntilOf(new Date()) });
    },
  };
  // Every object through `put`: a writer's would be committed with no retain-until date.
  delete wrapped.createWriter;
  return wrapped;
}

/** An object's retention as its store reports it. */
export interface HeldRetention {
  readonly mode: string | undefined;
  readonly until: Date | undefined;
}

/**
 * Whether `held` keeps an object until `until` in `mode` or in `strongest`, the store's stronger
 * mode (COMPLIANCE over GOVERNANCE in S3 Object Lock, Locked over Unlocked in Azure). Modes are
 * compared without case: Azure's REST API spells them in lower case and its SDK passes that on,
 * and S3-compatible servers may spell them their own way. Dates to the whole second: services
 * store no finer.
 */
export function holdsRetention(
  held: HeldRetention,
  mode: string | undefined,
  strongest: string,
  until: Date,
): boolean {
  const heldMode = held.mode?.toLowerCase();
  return (
    (heldMode === mode?.toLowerCase() || heldMode === strongest.toLowerCase()) &&
    held.until !== undefined &&
    held.until.getTime() >= until.getTime() - 1000
  );
}

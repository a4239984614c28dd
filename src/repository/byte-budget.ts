/**
 * A byte budget: a semaphore counted in bytes, bounding the memory that concurrent reads or
 * writes hold at once. A request larger than the whole budget is admitted when nothing else is
 * held, so it never deadlocks.
 * @module
 */

/** Shared bytes-in-flight limit. */
export interface ByteBudget {
  /** Bytes currently held. */
  readonly held: number;
  /** Takes `bytes` if they fit now (or nothing is held); never waits. */
  tryAcquire(bytes: number): boolean;
  /** Waits until `bytes` fit, then takes them; waiters are served in order. */
  acquire(bytes: number): Promise<void>;
  /** Gives back bytes taken with `acquire` or `tryAcquire`. */
  release(bytes: number): void;
}

/** Creates a budget of `limit` bytes. @throws RangeError when `limit` is not positive. */
export function createByteBudget(limit: number): ByteBudget {
  if (!(limit > 0)) throw new RangeError(`[byte-budget] limit must be positive, got ${limit}`);
  let held = 0;
  const waiters: { bytes: number; resolve: () => void }[] = [];
  const fits = (bytes: number): boolean => held === 0 || held + bytes <= limit;
  const wake = (): void => {
    while (waiters.length > 0 && fits(waiters[0]?.bytes ?? 0)) {
      const next = waiters.shift();
      if (!next) break;
      held += next.bytes;
      next.resolve();
    }
  };
  return {
    get held() {
      return held;
    },
    tryAcquire(bytes) {
      if (waiters.length > 0 || !fits(bytes)) return false;
      held += bytes;
      return true;
    },
    acquire(bytes) {
      if (waiters.length === 0 && fits(bytes)) {
        held += bytes;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        waiters.push({ bytes, resolve });
      });
    },
    release(bytes) {
      held = Math.max(0, held - bytes);
      wake();
    },
  };
}

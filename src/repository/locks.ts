/**
 * Repository locks: objects under `locks/`. Backups, restores and checks take shared locks (any
 * number at once); prune takes an exclusive one. A lock is stale when its holder has not
 * refreshed it for {@link STALE_AFTER_MS}, timed by the store's clock, never a host's (see
 * {@link listLocks}), or when it was taken on this host, in this process namespace, by a process
 * that no longer runs. A lock that cannot be read (damaged, sealed under another repository's
 * key, not hbr's) may be a live prune's: it is taken for an exclusive one, by every command alike,
 * until it is stale by its age. Locks are the only objects hbr deletes outside prune and forget.
 * A lock that cannot be removed when its holder is done (an expired token, a network down, a
 * command that deletes run on a credential that cannot) is left to go stale, and its holder is
 * told ({@link LeftLock}): that never turns finished work into a failure, nor replaces the error
 * of work that failed.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { DeleteForbiddenError, RepositoryLockedError, StoreError } from '../errors.ts';
import type { ObjectInfo, Store } from '../stores/types.ts';
import { openObject, sealObject, type RepositoryKeys } from './crypto.ts';
import { isProcessAlive } from '../util/process.ts';

/** A lock not refreshed for this long is stale (restic: 30 minutes). */
export const STALE_AFTER_MS = 30 * 60_000;
/** Holders rewrite their lock this often. */
export const REFRESH_EVERY_MS = 5 * 60_000;
/**
 * A holder whose lock has not been rewritten for this long gives it up (restic does the same):
 * before long, others take it for stale, and prune may delete what the holder still uses.
 */
export const LOST_AFTER_MS = STALE_AFTER_MS - 2 * REFRESH_EVERY_MS;

const LockSchema = z.object({
  exclusive: z.boolean(),
  host: z.string(),
  pid: z.number(),
  time: z.string(),
  operation: z.string(),
  /** The holder's process namespace (Linux), whose pids alone this host's processes can see. */
  pidns: z.string().optional(),
  /** The source a backup backs up (SQL Server backups record it; see {@link LockOptions}). */
  source: z.string().optional(),
});
export type LockInfo = z.infer<typeof LockSchema> & { readonly key: string; stale: boolean };

/** A held lock. */
export interface RepositoryLock {
  readonly exclusive: boolean;
  /**
   * Throws a `RepositoryLockedError` once the lock could not be rewritten for
   * {@link LOST_AFTER_MS}: what the holder does from then on is no longer protected. Judged now
   * as well as at each refresh: a process suspended for longer than that (a stopped process, a
   * paused machine) runs on before its timer fires, while others may have taken its lock for
   * stale. Once lost, always lost: a refresh that succeeds later does not protect what was done
   * meanwhile. Call it right before a step that relies on the lock (a backup's manifest, prune's
   * deletes).
   */
  throwIfLost(): void;
  /**
   * The stale locks among those met when this one was taken: each left by a holder that died (or
   * stopped refreshing it), maybe in the middle of its work, such as a backup's uploads.
   */
  readonly staleAtStart: readonly LockInfo[];
  /**
   * The repository's other locks, judged now against this one by the store's clock, as when it
   * was taken (see {@link listLocks}): no probe is written. This lock's own objects (the one before
   * a refresh, until it is deleted) are left out.
   */
  others(): Promise<LockInfo[]>;
  /**
   * Removes the lock. Idempotent, and never throws: a lock that cannot be removed is passed to
   * the `onLockLeft` given when it was taken, so `finally { await lock.release() }` neither
   * fails work that succeeded nor hides the error of work that failed.
   */
  release(): Promise<void>;
}

/** A lock its holder could not remove: it stays in the repository until stale or unlocked. */
export interface LeftLock {
  /** The lock object, e.g. `locks/3f…`. */
  readonly key: string;
  readonly exclusive: boolean;
  readonly operation: string;
  /** Why it could not be removed: the store's error message. */
  readonly reason: string;
  /** The warning for the user: the object, why, what it still blocks and what clears it. */
  readonly message: string;
}

/**
 * Told of a lock left behind. Where a command has no reporter to tell (a library caller), the
 * default is a process warning (`process.emitWarning`, on stderr).
 */
export type OnLockLeft = (left: LeftLock) => void;

/** Environment of lock decisions, injectable for tests. */
export interface LockClock {
  /** Wall-clock time (ms since the epoch): only the `time` a lock records, for messages. */
  now(): number;
  /**
   * A monotonic clock (ms, any origin) for the holder's own spans since its last refresh: a
   * wall clock stepped by NTP would fail a healthy holder (forward) or hide a loss (back).
   * @default performance.now()
   */
  monotonic?(): number;
  /** Whether a process of this host is alive. */
  isAlive(pid: number): boolean;
}

const systemClock: LockClock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  isAlive: isProcessAlive,
};

/** Options of {@link acquireLock}. */
export interface LockOptions {
  readonly exclusive: boolean;
  /** What the holder does, for messages: `backup`, `prune`. */
  readonly operation: string;
  /**
   * The source a backup backs up, recorded in the lock: while a backup's lock is live, a set it
   * wrote to the database server may still be on its way to the repository, and another backup of
   * the source must not take it for one whose commit failed.
   */
  readonly source?: string;
  /**
   * Whether the holder deletes objects (prune, forget, key remove). A lock that a credential
   * without delete rights leaves is told to `onLockLeft` only then: such a command was refused,
   * and its lock keeps others out for nothing. One that never deletes (a backup, a restore) is
   * what append-only credentials are for; its lock is left quietly to go stale.
   * @default exclusive
   */
  readonly deletes?: boolean;
  readonly clock?: LockClock;
  readonly onLockLeft?: OnLockLeft;
}

/**
 * Takes a lock. Throws `RepositoryLockedError` naming the holder when a live conflicting lock
 * exists: any lock for an exclusive request, an exclusive one (or one that cannot be read) for a
 * shared request.
 */
export async function acquireLock(
  store: Store,
  keys: RepositoryKeys,
  options: LockOptions,
): Promise<RepositoryLock> {
  const clock = options.clock ?? systemClock;
  const monotonic = (): number => clock.monotonic?.() ?? performance.now();
  const quietIfForbidden = !(options.deletes ?? options.exclusive);
  const remove = (key: string): Promise<void> =>
    _removeLock(store, key, options, options.onLockLeft ?? _processWarning, quietIfForbidden);
  // Taken before the write: a span measured from it is never shorter than the store's.
  let written = monotonic();
  let key = await _write(store, keys, options, clock);
  // Every object of this lock not yet deleted: a refresh writes the new one, then deletes the
  // old one (which stays where that fails).
  const mine = new Set([key]);
  // Locks are judged against the store's time of our own, so ours is written before the look
  // (restic looks before too, by its own clock). Two processes writing at once both see the
  // other's lock, and both give up, never both go on.
  let others: LockInfo[];
  try {
    others = (await _judgeLocks(store, keys, clock, key)).filter((l) => l.key !== key);
  } catch (error) {
    await remove(key); // the look failed: ours must not stay behind
    throw error;
  }
  const conflict = others.find((l) => !l.stale && (options.exclusive || l.exclusive));
  if (conflict) {
    await remove(key);
    throw _lockedError(store, conflict);
  }
  let released = false;
  // Kept once set: a refresh that succeeds later does not undo what others may have done meanwhile.
  let lost: RepositoryLockedError | undefined;
  // A duration by this host's monotonic clock since the last write that succeeded: however far
  // its wall clock is off or is stepped, others measure the same span by the store's clock,
  // since the store timed that write.
  const checkLost = (): void => {
    const since = monotonic() - written;
    if (!released && since >= LOST_AFTER_MS && !lost) {
      lost = new RepositoryLockedError(
        `[repository:${store.name}] this ${options.operation}'s lock could not be refreshed for ${Math.round(since / 60_000)} minutes, so others may take it for stale: stopped`,
      );
    }
  };
  let chain: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    // Judged apart from the refreshes: one that hangs must not hide that none succeeds.
    checkLost();
    chain = chain
      .then(async () => {
        if (released) return;
        // Before `written` moves on: a refresh after a long pause must not hide the pause.
        checkLost();
        const at = monotonic(); // before the write, as `written` was first
        const fresh = await _write(store, keys, options, clock);
        mine.add(fresh);
        written = at;
        const old = key;
        key = fresh;
        await store.delete(old);
        mine.delete(old);
      })
      .catch(() => undefined); // A failed refresh is retried at the next tick.
  }, REFRESH_EVERY_MS);
  timer.unref();
  return {
    exclusive: options.exclusive,
    staleAtStart: others.filter((l) => l.stale),
    throwIfLost() {
      checkLost();
      if (lost) throw lost;
    },
    async others() {
      return (await _judgeLocks(store, keys, clock, key)).filter((l) => !mine.has(l.key));
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await chain;
      await remove(key);
    },
  };
}

/**
 * A shared lock for a command that only reads (a restore, a check), so that prune cannot delete
 * packs it is reading. Where no lock can be written (a read-only credential or medium), it still
 * looks at the locks, and refuses while prune's exclusive lock is live; with none there, it reads
 * without a lock of its own, and `onUnlocked` is told why. Without a lock of its own to give the
 * store's time, staleness is judged as {@link _estimatedStoreNow} says. Only where the locks
 * cannot even be listed does it read without looking.
 * @throws RepositoryLockedError while prune holds its exclusive lock
 */
export async function acquireReadLock(
  store: Store,
  keys: RepositoryKeys,
  operation: string,
  onUnlocked: (reason: string) => void,
  onLockLeft?: OnLockLeft,
  clock: LockClock = systemClock,
): Promise<RepositoryLock> {
  try {
    return await acquireLock(store, keys, {
      exclusive: false,
      operation,
      onLockLeft,
      clock,
    });
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    let why = error.message;
    let locks: LockInfo[] | undefined;
    try {
      locks = await _judgeLocks(store, keys, clock, undefined);
    } catch (listError) {
      if (!(listError instanceof StoreError)) throw listError;
      why += `; the locks could not be listed either: ${listError.message}`;
    }
    const conflict = locks?.find((l) => !l.stale && l.exclusive);
    if (conflict) throw _lockedError(store, conflict);
    onUnlocked(why);
    return {
      exclusive: false,
      staleAtStart: locks?.filter((l) => l.stale) ?? [],
      throwIfLost: () => undefined,
      // Without a lock of its own to time by, judged as above.
      others: () => _judgeLocks(store, keys, clock, undefined),
      release: () => Promise.resolve(),
    };
  }
}

/**
 * Every lock in the repository, with its staleness judged now. A lock is stale when
 * - it was taken on this host, in this process namespace, by a process that no longer runs; or
 * - the store wrote it more than {@link STALE_AFTER_MS} before it wrote the judge's own lock: a
 *   probe lock written for the look and removed after it. Where none can be written (a read-only
 *   credential), the locks are judged as a reader that cannot write its lock judges them (see
 *   {@link acquireReadLock}); where there is no lock to judge, none is written, so a credential
 *   that cannot delete leaves no probe behind. One it cannot remove is told to `onLockLeft`.
 *
 * Both times are the store's (`ObjectInfo.lastModified`), never a host's. The `time` a lock
 * records is its holder's clock, only for messages: judged by it, a backup whose clock ran 40
 * minutes slow had its live lock taken for stale, and prune deleted its packs. A holder rewrites
 * its lock as a new object every {@link REFRESH_EVERY_MS}, so the store's time of that object
 * tells how long ago the holder last refreshed, by one clock that every judge reads alike. A store
 * that gives no time leaves every lock live by age (`hbr unlock --remove-all` clears them).
 */
export async function listLocks(
  store: Store,
  keys: RepositoryKeys,
  clock: LockClock = systemClock,
  onLockLeft: OnLockLeft = _processWarning,
): Promise<LockInfo[]> {
  if (!(await _anyLock(store))) return [];
  let probe: string;
  try {
    probe = await _write(store, keys, PROBE, clock);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    // Looking needs no write: `hbr unlock` with nothing stale succeeds on a read-only credential.
    return _judgeLocks(store, keys, clock, undefined);
  }
  try {
    return (await _judgeLocks(store, keys, clock, probe)).filter((l) => l.key !== probe);
  } finally {
    // Told even when the credential cannot delete: who looks at locks wants to know of one left.
    await _removeLock(store, probe, PROBE, onLockLeft, false);
  }
}

/**
 * Removes stale locks (or all locks with `all`: their staleness is not judged, so nothing is
 * written); returns what was removed. With nothing to remove it deletes nothing, and so succeeds
 * on a read-only credential.
 * @throws DeleteForbiddenError (or the store's error) naming every lock it could not remove
 */
export async function removeLocks(
  store: Store,
  keys: RepositoryKeys,
  options: { all?: boolean; clock?: LockClock; onLockLeft?: OnLockLeft } = {},
): Promise<LockInfo[]> {
  const clock = options.clock ?? systemClock;
  const locks = options.all
    ? await _judgeLocks(store, keys, clock, undefined)
    : await listLocks(store, keys, clock, options.onLockLeft);
  const remove = locks.filter((l) => options.all || l.stale);
  for (const [i, lock] of remove.entries()) {
    try {
      await store.delete(lock.key);
    } catch (error) {
      throw _notRemoved(store, error, remove.slice(i), i);
    }
  }
  return remove;
}

/** A lock for messages: `backup by pid 4242 on db1 since 2025-…`, or that it cannot be read. */
export function describeLock(lock: LockInfo): string {
  return lock.host === UNREADABLE
    ? 'cannot be read'
    : `${lock.operation} by pid ${lock.pid} on ${lock.host} since ${lock.time}`;
}

// --- internal ---

/**
 * Deletes a lock. An append-only credential (no delete right) cannot: the lock is left to go
 * stale (at once for this host once the process ends; after {@link STALE_AFTER_MS} elsewhere),
 * so backups and replication still work with such credentials, and with `quietIfForbidden`
 * nothing is said. Any other failure (an expired token, a network down after retries), or a
 * refusal without `quietIfForbidden`, leaves the lock the same way, but unexpectedly:
 * `onLockLeft` is told, and nothing is thrown, since the holder's work is over.
 */
async function _removeLock(
  store: Store,
  key: string,
  lock: { exclusive: boolean; operation: string },
  onLockLeft: OnLockLeft,
  quietIfForbidden: boolean,
): Promise<void> {
  try {
    await store.delete(key);
  } catch (error) {
    const forbidden = error instanceof DeleteForbiddenError;
    if (forbidden && quietIfForbidden) return;
    const reason = error instanceof Error ? error.message : String(error);
    const blocks = lock.exclusive ? 'every other hbr command waits for it' : 'prune waits for it';
    const minutes = STALE_AFTER_MS / 60_000;
    const unlock = forbidden ? '`hbr unlock` with a credential that may delete' : '`hbr unlock`';
    onLockLeft({
      key,
      exclusive: lock.exclusive,
      operation: lock.operation,
      reason,
      message:
        `[repository:${store.name}] the ${lock.operation}'s lock ${key} could not be removed: ${reason}. ` +
        `It is left behind, and ${blocks} until it is stale (at once for hbr on this host once this process has ended, elsewhere after ${minutes} minutes); ` +
        `${unlock} then removes it, or with \`--remove-all\` at once when no hbr process uses the repository.`,
    });
  }
}

/**
 * The error of `hbr unlock` that could not delete `left[0]`, naming it and the locks after it,
 * which it did not try: of the same class as the store's, so its exit code stays the same.
 */
function _notRemoved(store: Store, error: unknown, left: LockInfo[], removed: number): unknown {
  if (!(error instanceof StoreError || error instanceof DeleteForbiddenError)) return error;
  const refused = error instanceof DeleteForbiddenError || error.status === 403;
  const message =
    `[repository:${store.name}] unlock: could not remove ${left.length} lock(s): ` +
    left.map((l) => `${l.key} (${describeLock(l)})`).join(', ') +
    `${removed > 0 ? ` (removed ${removed} before)` : ''}: ${error.message}` +
    (refused ? '; run `hbr unlock` with a credential that may delete' : '');
  return error instanceof DeleteForbiddenError
    ? new DeleteForbiddenError(message, { cause: error })
    : new StoreError(message, { permanent: error.permanent, status: error.status, cause: error });
}

/** Whether there is any object under `locks/`. */
async function _anyLock(store: Store): Promise<boolean> {
  for await (const _ of store.list('locks/')) return true;
  return false;
}

/** Where a left lock is told when the caller gave no `onLockLeft`. */
function _processWarning(left: LeftLock): void {
  process.emitWarning(left.message, { code: 'HBR_LOCK_LEFT' });
}

async function _write(
  store: Store,
  keys: RepositoryKeys,
  options: { exclusive: boolean; operation: string; source?: string },
  clock: LockClock,
): Promise<string> {
  const key = `locks/${randomBytes(16).toString('hex')}`;
  const info = {
    exclusive: options.exclusive,
    host: hostname(),
    pid: process.pid,
    time: new Date(clock.now()).toISOString(),
    operation: options.operation,
    pidns: _pidNamespace,
    ...(options.source !== undefined ? { source: options.source } : {}),
  };
  await store.put(key, sealObject(keys, 'lock', Buffer.from(JSON.stringify(info))));
  return key;
}

/**
 * Every lock but `own`, judged against the store's time of `own`, a lock just written (see
 * listLocks), or without one (a reader that could not write its lock) against
 * {@link _estimatedStoreNow}.
 *
 * A lock that vanishes between the listing and its read may have been a holder's refresh (it
 * writes the new object, then deletes the old one), whose new object this listing missed: the
 * look starts over with a fresh listing, which holds it, up to {@link LISTINGS} times.
 * @throws RepositoryLockedError when locks vanished in every listing
 */
async function _judgeLocks(
  store: Store,
  keys: RepositoryKeys,
  clock: LockClock,
  own: string | undefined,
): Promise<LockInfo[]> {
  for (let attempt = 1; ; attempt++) {
    const locks = await _judgeListing(store, keys, clock, own);
    if (locks) return locks;
    if (attempt === LISTINGS)
      throw new RepositoryLockedError(
        `[repository:${store.name}] locks: a lock vanished while they were read, in each of ${LISTINGS} looks in a row (locks taken and released that fast); try again`,
      );
  }
}

/** One listing of the locks, judged; `undefined` when one vanished before it could be read. */
async function _judgeListing(
  store: Store,
  keys: RepositoryKeys,
  clock: LockClock,
  own: string | undefined,
): Promise<LockInfo[] | undefined> {
  const listed: ObjectInfo[] = [];
  for await (const info of store.list('locks/')) listed.push(info);
  const now =
    own === undefined
      ? _estimatedStoreNow(listed, clock)
      : (
          listed.find((l) => l.key === own)?.lastModified ?? (await store.head(own))?.lastModified
        )?.getTime();
  const old = (written: Date | undefined): boolean =>
    now !== undefined && written !== undefined && now - written.getTime() > STALE_AFTER_MS;
  const host = hostname();
  /** The lock at `key` judged; `undefined` when it vanished before it could be read. */
  const judge = async ({ key, lastModified }: ObjectInfo): Promise<LockInfo | undefined> => {
    let info: z.infer<typeof LockSchema>;
    try {
      const bytes = await store.get(key);
      info = LockSchema.parse(JSON.parse(openObject(keys, 'lock', bytes, key).toString('utf8')));
    } catch (error) {
      // A store that failed to answer (after its retries) says nothing of the lock: its error,
      // not "locked by a lock that cannot be read", is what the command fails with.
      if (error instanceof StoreError && !error.permanent) throw error;
      // Vanished (released, or refreshed, meanwhile: see _judgeLocks) or unreadable. Unreadable,
      // it may be a live prune's (damaged, a newer hbr's format): taken for an exclusive lock,
      // which keeps every command out while it is fresh. Stale after the usual age all the
      // same: a live holder's lock is never that old, as it rewrites it as new.
      const still = await store.head(key);
      if (!still) return undefined;
      return {
        key,
        exclusive: true,
        host: UNREADABLE,
        pid: 0,
        time: '',
        operation: UNREADABLE,
        stale: old(lastModified),
      };
    }
    // Only a pid of this host's own process namespace says whether its holder runs (a container
    // beside this one, of the same host name, has pids of its own).
    const here = info.host === host && info.pidns !== undefined && info.pidns === _pidNamespace;
    const stale = old(lastModified) || (here && !clock.isAlive(info.pid));
    return { ...info, key, stale };
  };
  // The others read side by side (each a round trip from a remote store); `own` is not read:
  // every caller that names it leaves it out.
  const judged = await Promise.all(listed.filter((l) => l.key !== own).map(judge));
  if (judged.includes(undefined)) return undefined;
  return judged as LockInfo[];
}

function _lockedError(store: Store, lock: LockInfo): RepositoryLockedError {
  if (lock.host === UNREADABLE) {
    const minutes = STALE_AFTER_MS / 60_000;
    return new RepositoryLockedError(
      `[repository:${store.name}] locked: lock ${lock.key} cannot be read (damaged, written under another repository's key, or not hbr's), so it is taken for an exclusive lock until it is ${minutes} minutes old by the store's clock; \`hbr unlock\` then removes it, or \`hbr unlock --remove-all\` at once when no hbr process uses the repository`,
    );
  }
  const kind = lock.exclusive ? 'an exclusive' : 'a shared';
  return new RepositoryLockedError(
    `[repository:${store.name}] locked: ${kind} lock for ${lock.operation} is held by pid ${lock.pid} on ${lock.host} since ${lock.time}; if that process is gone, run \`hbr unlock\``,
  );
}

/**
 * The store's time, as near as a judge that could not write its own lock can tell: the newest
 * `lastModified` among the locks listed (the store's now is at least that), or this host's
 * clock where that is later. The store's time alone would keep a dead prune's lock, usually the
 * only one there, live forever to a reader that cannot run `hbr unlock`; this host's clock alone
 * could make a live lock written by the store just now look old. A reader whose clock runs more
 * than {@link STALE_AFTER_MS} - {@link REFRESH_EVERY_MS} fast may take a live prune's lock for
 * stale: the price of having no lock to time by. Never used by a judge that holds a lock.
 */
function _estimatedStoreNow(listed: readonly ObjectInfo[], clock: LockClock): number {
  const newest = Math.max(...listed.map((l) => l.lastModified?.getTime() ?? -Infinity));
  return Math.max(newest, clock.now());
}

/** How many listings of the locks a judge makes while locks vanish between list and read. */
const LISTINGS = 5;

/** What a probe lock says: a shared lock of `hbr unlock`, should anyone read it meanwhile. */
const PROBE = { exclusive: false, operation: 'unlock' };

/** Host and operation of a lock that cannot be read. */
const UNREADABLE = '(unreadable)';

/** This process's pid namespace (`pid:[…]`), or `-` where there is none to read (not Linux). */
const _pidNamespace = ((): string => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '-';
  }
})();

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { DeleteForbiddenError, StoreError } from '../errors.ts';
import { createLocalStore } from '../stores/local.ts';
import type { Store } from '../stores/types.ts';
import { FORTY_MINUTES, putForeignLock, writtenAgo } from '../../test/helpers/foreign-lock.ts';
import { tempDir } from '../../test/helpers/temp.ts';
import { deriveKeys, sealObject } from './crypto.ts';
import {
  LOST_AFTER_MS,
  REFRESH_EVERY_MS,
  acquireLock,
  acquireReadLock,
  listLocks,
  removeLocks,
  type LeftLock,
  type LockClock,
} from './locks.ts';
import { forgetBackups, pruneRepository } from './prune.ts';
import { initRepository, openRepository } from './repository.ts';
import { startSession } from './session.ts';

/**
 * A local store whose writes under `locks/` fail while `failing.locks` is set; `lockWrites`
 * counts those that ended either way.
 */
function storeFailingLocks(path: string): {
  store: Store;
  failing: { locks: boolean };
  lockWrites: () => number;
} {
  const local = createLocalStore({ path });
  const failing = { locks: false };
  let ended = 0;
  const store: Store = {
    ...local,
    put: async (key, data, options) => {
      if (!key.startsWith('locks/')) return local.put(key, data, options);
      try {
        if (failing.locks)
          throw new StoreError('[store] put: 503', { permanent: false, status: 503 });
        return await local.put(key, data, options);
      } finally {
        ended++;
      }
    },
  };
  return { store, failing, lockWrites: () => ended };
}

/** Fires the refresh timer `times` times, each time until its lock write has ended. */
async function refreshes(
  timers: { tick(ms: number): void },
  lockWrites: () => number,
  times: number,
  onTick: () => void = () => undefined,
): Promise<void> {
  for (let i = 0; i < times; i++) {
    const before = lockWrites();
    onTick();
    timers.tick(REFRESH_EVERY_MS);
    while (lockWrites() === before) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve)); // its bookkeeping after the write
  }
}

const TICKS_TO_LOSE = LOST_AFTER_MS / REFRESH_EVERY_MS;

/**
 * A local store whose deletes under `locks/` fail as when a temporary credential (an STS token,
 * a SAS) has expired: permanent, and no refusal to delete (`DeleteForbiddenError`); with
 * `manifestsFail`, manifest puts fail too.
 */
function storeKeepingLocks(path: string, options: { manifestsFail?: boolean } = {}): Store {
  const local = createLocalStore({ path });
  return {
    ...local,
    put: async (key, data, opts) => {
      if (options.manifestsFail && key.startsWith('snapshots/'))
        throw new StoreError(`[store:test] put ${key}: 500 InternalError`, { permanent: true });
      return local.put(key, data, opts);
    },
    delete: async (key, opts) => {
      if (key.startsWith('locks/'))
        throw new StoreError(`[store:test] delete ${key}: 400 ExpiredToken`, {
          permanent: true,
          status: 400,
        });
      return local.delete(key, opts);
    },
  };
}

async function repositoryOn(store: Store) {
  const credential = { kind: 'password', password: 'pw' } as const;
  await initRepository(store, credential, { scryptParams: { N: 1024, r: 8, p: 1 } });
  return openRepository(store, credential);
}

const commitInfo = { source: 'x', kind: 'test', type: 'full', startedAt: new Date() } as const;

/**
 * A lock clock whose monotonic time follows `Date.now()`, so that mocked timers (which leave
 * `performance.now()` alone on Node 20) move it: a process paused, as far as the lock can tell.
 */
const mockedClock: LockClock = {
  now: () => Date.now(),
  monotonic: () => Date.now(),
  isAlive: () => true,
};

/**
 * A local store on a read-only credential: every write fails as S3 refuses it (403), and
 * deletes too.
 */
function readOnlyStore(path: string): Store {
  const local = createLocalStore({ path });
  const refuse = (key: string): never => {
    throw new StoreError(`[store:test] put ${key}: 403 AccessDenied`, {
      permanent: true,
      status: 403,
    });
  };
  return {
    ...local,
    put: (key) => Promise.resolve(refuse(key)),
    delete: (key) => Promise.resolve(refuse(key)),
  };
}

/**
 * A local store on an append-only credential (an S3 policy without `s3:DeleteObject`, an Azure
 * SAS without `d`): it writes, and every delete is refused.
 */
function appendOnlyStore(path: string): Store {
  const local = createLocalStore({ path });
  return {
    ...local,
    delete: (key) =>
      Promise.reject(
        new DeleteForbiddenError(`[store:test] delete ${key}: this credential cannot delete (403)`),
      ),
  };
}

describe('repository locks', () => {
  it('tells the holder its lock is lost once no refresh succeeded for LOST_AFTER_MS, before others take it for stale', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const { store, failing, lockWrites } = storeFailingLocks(dir.path);
    const keys = deriveKeys(randomBytes(64));
    t.mock.timers.enable({ apis: ['setInterval'] });
    let now = Date.now();
    const clock = { now: () => now, monotonic: () => now, isAlive: () => true };
    const lock = await acquireLock(store, keys, { exclusive: false, operation: 'backup', clock });
    const later = () => (now += REFRESH_EVERY_MS);

    await refreshes(t.mock.timers, lockWrites, 12, later); // an hour, refreshed: held
    assert.doesNotThrow(() => lock.throwIfLost());
    failing.locks = true;
    await refreshes(t.mock.timers, lockWrites, TICKS_TO_LOSE - 1, later);
    assert.doesNotThrow(() => lock.throwIfLost(), 'a few failed refreshes are retried');
    await refreshes(t.mock.timers, lockWrites, 1, later);
    // Lost before anyone else may judge it stale: the store last wrote it LOST_AFTER_MS ago.
    failing.locks = false;
    const [held] = await listLocks(store, keys, clock);
    await writtenAgo(dir.path, held?.key ?? '', LOST_AFTER_MS);
    const seen = await listLocks(store, keys, clock);
    assert.deepEqual(
      seen.map((l) => l.stale),
      [false],
    );
    // The refresh timer saw it lost: a refresh that succeeds now does not protect what was done
    // meanwhile, though the lock was just written.
    await refreshes(t.mock.timers, lockWrites, 1, later);
    assert.throws(() => lock.throwIfLost(), {
      name: 'RepositoryLockedError',
      message: /could not be refreshed for 20 minutes/,
    });
    await lock.release();
  });

  it('refuses to commit a backup whose lock was lost, so it records no blobs prune may have deleted', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const { store, failing, lockWrites } = storeFailingLocks(dir.path);
    const credential = { kind: 'password', password: 'pw' } as const;
    await initRepository(store, credential, { scryptParams: { N: 1024, r: 8, p: 1 } });
    const repo = await openRepository(store, credential);
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.now() });
    const session = await startSession(repo, { lockClock: mockedClock });
    await session.addArtifact('a.bin', Readable.from([randomBytes(1000)]));
    failing.locks = true;
    await refreshes(t.mock.timers, lockWrites, TICKS_TO_LOSE + 1);
    await assert.rejects(
      session.commit({ source: 'x', kind: 'test', type: 'full', startedAt: new Date() }),
      { name: 'RepositoryLockedError', message: /could not be refreshed/ },
    );
    failing.locks = false;
    assert.deepEqual(await (await openRepository(store, credential)).backups(), []);
  });

  it('saves a backup whose lock cannot be removed, and tells the caller which lock was left, why, and what clears it', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const store = storeKeepingLocks(dir.path);
    const repo = await repositoryOn(store);
    const left: LeftLock[] = [];
    const session = await startSession(repo, { onLockLeft: (l) => left.push(l) });
    await session.addArtifact('a.bin', Readable.from([randomBytes(1000)]));
    const record = await session.commit(commitInfo);
    assert.deepEqual(
      (await repo.backups()).map((b) => b.id),
      [record.id],
    );
    // Looked at through a store that may delete, so the look removes its own probe.
    const [lock] = await listLocks(createLocalStore({ path: dir.path }), repo.keys);
    assert.equal(left.length, 1);
    assert.equal(left[0]?.key, lock?.key);
    assert.match(left[0]?.reason ?? '', /ExpiredToken/);
    assert.match(left[0]?.message ?? '', /locks\/[0-9a-f]{32} could not be removed.*ExpiredToken/);
    assert.match(left[0]?.message ?? '', /30 minutes.*`hbr unlock`/);
  });

  it('keeps the error of a commit that failed when its lock cannot be removed either', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const store = storeKeepingLocks(dir.path, { manifestsFail: true });
    const repo = await repositoryOn(store);
    const left: LeftLock[] = [];
    const session = await startSession(repo, { onLockLeft: (l) => left.push(l) });
    await session.addArtifact('a.bin', Readable.from([randomBytes(1000)]));
    await assert.rejects(session.commit(commitInfo), {
      name: 'StoreError',
      message: /put snapshots\/.*InternalError/,
    });
    assert.equal(left.length, 1, 'the lock left behind is still told');
  });

  it('reports a lock conflict found after writing its own lock even when that lock cannot be removed', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const local = createLocalStore({ path: dir.path });
    const keys = deriveKeys(randomBytes(64));
    await acquireLock(local, keys, { exclusive: true, operation: 'prune' });
    // The look comes after its own lock is written (it needs the store's time of it).
    const store = storeKeepingLocks(dir.path);
    const left: LeftLock[] = [];
    await assert.rejects(
      acquireLock(store, keys, {
        exclusive: false,
        operation: 'backup',
        onLockLeft: (l) => left.push(l),
      }),
      { name: 'RepositoryLockedError', message: /exclusive lock for prune/ },
    );
    assert.equal(left.length, 1);
  });

  it('tells whoever takes a lock which of the locks it met were stale, writing its own or not', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const store = createLocalStore({ path: dir.path });
    const keys = deriveKeys(randomBytes(64));
    await putForeignLock(store, keys, 'locks/live', Date.now());
    await putForeignLock(store, keys, 'locks/died', Date.now());
    await writtenAgo(dir.path, 'locks/died', FORTY_MINUTES);
    const lock = await acquireLock(store, keys, { exclusive: false, operation: 'backup' });
    t.after(() => lock.release());
    assert.deepEqual(
      lock.staleAtStart.map((l) => l.key),
      ['locks/died'],
    );
    // A reader on a read-only credential writes no lock, and looks all the same.
    const reader = await acquireReadLock(readOnlyStore(dir.path), keys, 'restore', () => undefined);
    assert.deepEqual(
      reader.staleAtStart.map((l) => l.key),
      ['locks/died'],
    );
  });

  it("judges a lock stale by the store's time of its last write, never by its holder's clock or the judge's", async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const store = createLocalStore({ path: dir.path });
    const keys = deriveKeys(randomBytes(64));
    // Its holder's clock runs 40 minutes slow, and it refreshed just now: live.
    await putForeignLock(store, keys, 'locks/slow-holder', Date.now() - FORTY_MINUTES);
    // Its holder's clock is right, and it has not been refreshed for 40 minutes: stale.
    await putForeignLock(store, keys, 'locks/gone-quiet', Date.now());
    await writtenAgo(dir.path, 'locks/gone-quiet', FORTY_MINUTES);
    // The judge's clock, 40 minutes fast, changes nothing.
    const fast = { now: () => Date.now() + FORTY_MINUTES, isAlive: () => true };
    for (const clock of [undefined, fast]) {
      const seen = await listLocks(store, keys, clock);
      assert.deepEqual(seen.map((l) => `${l.key}:${l.stale}`).sort(), [
        'locks/gone-quiet:true',
        'locks/slow-holder:false',
      ]);
    }
    // The probe lock the look wrote is gone again.
    assert.deepEqual((await listLocks(store, keys)).length, 2);
    const exclusive = await acquireLock(store, keys, { exclusive: true, operation: 'prune' }).catch(
      (error: unknown) => error,
    );
    assert.equal(
      (exclusive as Error).name,
      'RepositoryLockedError',
      'the live lock keeps prune out',
    );
    assert.match((exclusive as Error).message, /pid 4242 on elsewhere/);
  });

  it('refuses to commit a backup paused past LOST_AFTER_MS, though its refresh timer has not fired yet', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const store = createLocalStore({ path: dir.path });
    const credential = { kind: 'password', password: 'pw' } as const;
    await initRepository(store, credential, {
      scryptParams: { N: 1024, r: 8, p: 1 },
      packSize: 64 * 1024,
    });
    const repo = await openRepository(store, credential);
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.now() });
    const session = await startSession(repo, { lockClock: mockedClock });
    await session.addArtifact('a.bin', Readable.from([randomBytes(500_000)]));
    await session.flush(); // its packs and their index are stored, no manifest names them yet
    // The process stops for 40 minutes (a stopped process, a paused machine): its lock is not
    // rewritten, so prune, elsewhere, takes it for stale and deletes the packs no backup names yet.
    const [held] = await listLocks(store, repo.keys);
    await writtenAgo(dir.path, held?.key ?? '', FORTY_MINUTES);
    const pruned = await pruneRepository(await openRepository(store, credential));
    assert.ok(pruned.packsDeleted > 0, "prune deleted the paused backup's packs");
    // It resumes 40 minutes later and goes on to commit before its timer fires.
    t.mock.timers.setTime(Date.now() + FORTY_MINUTES);
    await assert.rejects(
      session.commit({ source: 'x', kind: 'test', type: 'full', startedAt: new Date() }),
      { name: 'RepositoryLockedError', message: /could not be refreshed for 40 minutes/ },
    );
    assert.deepEqual(await (await openRepository(store, credential)).backups(), []);
  });

  it('refuses a restore on a read-only credential while prune holds its exclusive lock, and reads without a lock once that lock is stale', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const local = createLocalStore({ path: dir.path });
    const keys = deriveKeys(randomBytes(64));
    const prune = await acquireLock(local, keys, { exclusive: true, operation: 'prune' });
    const store = readOnlyStore(dir.path);
    const unlocked: string[] = [];
    await assert.rejects(
      acquireReadLock(store, keys, 'restore', (why) => unlocked.push(why)),
      { name: 'RepositoryLockedError', message: /exclusive lock for prune is held/ },
    );
    assert.equal(unlocked.length, 0);
    // A prune that died 40 minutes ago, on another machine: its lock no longer keeps readers out.
    const [held] = await listLocks(local, keys);
    await writtenAgo(dir.path, held?.key ?? '', FORTY_MINUTES);
    const lock = await acquireReadLock(store, keys, 'restore', (why) => unlocked.push(why));
    assert.equal(unlocked.length, 1);
    assert.match(unlocked[0] ?? '', /403 AccessDenied/);
    await lock.release();
    await prune.release();
  });

  it("tells a holder the other locks, a backup's with its source, without its own or a probe left behind", async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    // Append-only: no lock object can be deleted, so a probe would stay, and so does the backup's
    // lock from before its refresh.
    const { store: counting, lockWrites } = storeFailingLocks(dir.path);
    const refusing = appendOnlyStore(dir.path);
    const store: Store = { ...counting, delete: (key) => refusing.delete(key) };
    const keys = deriveKeys(randomBytes(64));
    t.mock.timers.enable({ apis: ['setInterval'] });
    const backup = await acquireLock(store, keys, {
      exclusive: false,
      operation: 'backup',
      source: 'sales',
    });
    await refreshes(t.mock.timers, lockWrites, 1);
    const restore = await acquireLock(store, keys, { exclusive: false, operation: 'restore' });
    const objects = async (): Promise<number> => {
      let n = 0;
      for await (const _ of store.list('locks/')) n++;
      return n;
    };
    assert.equal(await objects(), 3);
    assert.deepEqual(
      (await backup.others()).map((l) => [l.operation, l.source, l.stale]),
      [['restore', undefined, false]],
    );
    assert.deepEqual(
      (await restore.others()).map((l) => [l.operation, l.source]),
      [
        ['backup', 'sales'],
        ['backup', 'sales'],
      ],
    );
    assert.equal(await objects(), 3);
    await backup.release();
    await restore.release();
  });

  it('reads the other locks side by side when it takes its own, and not its own', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const local = createLocalStore({ path: dir.path });
    const keys = deriveKeys(randomBytes(64));
    const backups = await Promise.all(
      [1, 2, 3].map(() => acquireLock(local, keys, { exclusive: false, operation: 'backup' })),
    );
    // Reads of locks take a while, as from a remote store: counted, with the most at once.
    const read: string[] = [];
    let reading = 0;
    let most = 0;
    const store: Store = {
      ...local,
      get: async (key, options) => {
        if (!key.startsWith('locks/')) return local.get(key, options);
        read.push(key);
        most = Math.max(most, ++reading);
        await new Promise((resolve) => setTimeout(resolve, 20));
        reading--;
        return local.get(key, options);
      },
    };
    const restore = await acquireLock(store, keys, { exclusive: false, operation: 'restore' });
    const others = (await listLocks(local, keys)).filter((l) => l.operation === 'backup');
    assert.deepEqual(read.sort(), others.map((l) => l.key).sort(), "the backups' locks, once each");
    assert.equal(most, 3);
    for (const lock of [restore, ...backups]) await lock.release();
  });

  it("sees a live lock that its holder refreshed between the judge's listing and its read", async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const local = createLocalStore({ path: dir.path });
    const keys = deriveKeys(randomBytes(64));
    const backup = await acquireLock(local, keys, { exclusive: false, operation: 'backup' });
    const [before] = await listLocks(local, keys);
    let refreshed = false;
    // The backup's refresh lands right after prune listed locks/: a new object, the old deleted.
    const store: Store = {
      ...local,
      get: async (key, options) => {
        if (key === before?.key && !refreshed) {
          refreshed = true;
          await local.put(`locks/${'b'.repeat(32)}`, await local.get(key));
          await local.delete(key);
        }
        return local.get(key, options);
      },
    };
    await assert.rejects(acquireLock(store, keys, { exclusive: true, operation: 'prune' }), {
      name: 'RepositoryLockedError',
      message: /shared lock for backup/,
    });
    assert.ok(refreshed);
    await backup.release();
  });

  it('judges its own lock lost by a monotonic clock: a wall clock stepped forward or back changes nothing', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const store = createLocalStore({ path: dir.path });
    const keys = deriveKeys(randomBytes(64));
    let wall = Date.now();
    let monotonic = 0;
    const clock = { now: () => wall, monotonic: () => monotonic, isAlive: () => true };
    const lock = await acquireLock(store, keys, { exclusive: false, operation: 'backup', clock });
    wall += FORTY_MINUTES; // NTP steps the wall clock forward a second later
    monotonic += 1000;
    assert.doesNotThrow(() => lock.throwIfLost(), 'a healthy backup goes on');
    wall -= 2 * FORTY_MINUTES; // and back; meanwhile no refresh succeeded for LOST_AFTER_MS
    monotonic += LOST_AFTER_MS;
    assert.throws(() => lock.throwIfLost(), { name: 'RepositoryLockedError' });
    await lock.release();
  });

  it('fails with the store error, not as locked, when a lock cannot be read for a store that does not answer', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const local = createLocalStore({ path: dir.path });
    const keys = deriveKeys(randomBytes(64));
    const other = await acquireLock(local, keys, { exclusive: false, operation: 'backup' });
    const [held] = await listLocks(local, keys);
    const store: Store = {
      ...local,
      get: async (key, options) => {
        if (key === held?.key)
          throw new StoreError(`[store:test] get ${key}: 503`, { permanent: false, status: 503 });
        return local.get(key, options);
      },
    };
    await assert.rejects(acquireLock(store, keys, { exclusive: false, operation: 'backup' }), {
      name: 'StoreError',
      message: /503/,
    });
    await other.release();
  });

  it("takes a lock it cannot read for a possibly exclusive one, live until it is stale by the store's clock, for readers and writers alike", async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const local = createLocalStore({ path: dir.path });
    const keys = deriveKeys(randomBytes(64));
    // Not hbr's, and hbr's under a key this repository does not have: neither can be read.
    await local.put(`locks/${'d'.repeat(32)}`, randomBytes(200));
    await local.put(
      `locks/${'e'.repeat(32)}`,
      sealObject(deriveKeys(randomBytes(64)), 'lock', Buffer.from('{}')),
    );
    const unlocked: string[] = [];
    const read = () =>
      acquireReadLock(readOnlyStore(dir.path), keys, 'restore', (w) => unlocked.push(w));
    await assert.rejects(read(), {
      name: 'RepositoryLockedError',
      message: /lock locks\/(d|e){32} cannot be read/,
    });
    await assert.rejects(acquireLock(local, keys, { exclusive: false, operation: 'backup' }), {
      name: 'RepositoryLockedError',
      message: /cannot be read/,
    });
    assert.deepEqual(await removeLocks(local, keys), [], 'hbr unlock leaves a fresh one');
    assert.equal(unlocked.length, 0);
    // Unrefreshed for 40 minutes: no live holder's, whatever it was.
    for (const c of 'de') await writtenAgo(dir.path, `locks/${c.repeat(32)}`, FORTY_MINUTES);
    await (await read()).release();
    assert.equal(unlocked.length, 1, 'read without a lock of its own');
    await (await acquireLock(local, keys, { exclusive: true, operation: 'prune' })).release();
    assert.deepEqual(
      (await removeLocks(local, keys)).map((l) => l.key).sort(),
      [`locks/${'d'.repeat(32)}`, `locks/${'e'.repeat(32)}`],
      'hbr unlock removes a stale one',
    );
  });

  it('tells of the lock left by a prune or forget refused on a credential that cannot delete, but not of a backup', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const full = await repositoryOn(createLocalStore({ path: dir.path }));
    const session = await startSession(full);
    await session.addArtifact('a.bin', Readable.from([randomBytes(1000)]));
    const record = await session.commit(commitInfo);
    const credential = { kind: 'password', password: 'pw' } as const;
    const repo = await openRepository(appendOnlyStore(dir.path), credential);
    const left: LeftLock[] = [];
    const onLockLeft = (l: LeftLock) => left.push(l);
    await assert.rejects(forgetBackups(repo, [record.id], { onLockLeft }), {
      name: 'DeleteForbiddenError',
    });
    assert.equal(left.length, 1);
    assert.match(
      left[0]?.message ?? '',
      /forget's lock locks\/\w+ could not be removed: .*cannot delete/,
    );
    assert.match(left[0]?.message ?? '', /prune waits for it/);
    // Live while this process runs, it keeps prune out: removed as the message says.
    await assert.rejects(pruneRepository(full), { name: 'RepositoryLockedError' });
    assert.equal((await removeLocks(full.store, full.keys, { all: true })).length, 1);
    await forgetBackups(full, [record.id]);
    await assert.rejects(pruneRepository(repo, { onLockLeft }), { name: 'DeleteForbiddenError' });
    assert.equal(left.length, 2);
    assert.equal(left[1]?.exclusive, true);
    assert.match(
      left[1]?.message ?? '',
      /prune's lock locks\/\w+ could not be removed: .*cannot delete/,
    );
    assert.match(left[1]?.message ?? '', /every other hbr command waits for it/);
    assert.match(left[1]?.message ?? '', /`hbr unlock` with a credential that may delete/);
    const [prune] = (await listLocks(full.store, full.keys)).filter((l) => l.exclusive);
    assert.equal(prune?.key, left[1]?.key, 'the lock named is the one left');
    await removeLocks(full.store, full.keys, { all: true });
    // A backup never deletes: an append-only credential is made for it, and its lock goes quietly.
    const backup = await startSession(repo, { onLockLeft });
    await backup.addArtifact('b.bin', Readable.from([randomBytes(1000)]));
    await backup.commit(commitInfo);
    assert.equal(left.length, 2);
  });

  it('unlocks on a read-only credential when there is nothing to remove, and says which locks it cannot remove', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const local = createLocalStore({ path: dir.path });
    const keys = deriveKeys(randomBytes(64));
    const store = readOnlyStore(dir.path);
    assert.deepEqual(await removeLocks(store, keys), [], 'no lock at all');
    await putForeignLock(local, keys, 'locks/live-backup', Date.now());
    assert.deepEqual(await removeLocks(store, keys), [], 'a live lock is not removed');
    await putForeignLock(local, keys, 'locks/dead-backup', Date.now());
    await writtenAgo(dir.path, 'locks/dead-backup', FORTY_MINUTES);
    await assert.rejects(removeLocks(store, keys), {
      name: 'StoreError',
      message:
        /could not remove 1 lock\(s\): locks\/dead-backup \(backup by pid 4242 on elsewhere since .*\): .*403 AccessDenied/,
    });
    assert.deepEqual(
      (await removeLocks(local, keys)).map((l) => l.key),
      ['locks/dead-backup'],
      'a credential that may delete removes it',
    );
  });

  it('unlocks on an append-only credential without leaving a lock of its own where there was none, and says which it cannot remove', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const local = createLocalStore({ path: dir.path });
    const keys = deriveKeys(randomBytes(64));
    const store = appendOnlyStore(dir.path);
    const left: LeftLock[] = [];
    assert.deepEqual(await removeLocks(store, keys, { onLockLeft: (l) => left.push(l) }), []);
    assert.deepEqual(await listLocks(local, keys), [], 'nothing written, nothing left');
    await putForeignLock(local, keys, 'locks/dead-backup', Date.now());
    await writtenAgo(dir.path, 'locks/dead-backup', FORTY_MINUTES);
    await assert.rejects(removeLocks(store, keys, { onLockLeft: (l) => left.push(l) }), {
      name: 'DeleteForbiddenError',
      message:
        /could not remove 1 lock\(s\): locks\/dead-backup .*cannot delete.*a credential that may delete/,
    });
    // The look timed the locks by a lock of its own, which it could not remove either: told.
    assert.equal(left.length, 1);
    assert.match(left[0]?.message ?? '', /unlock's lock locks\/\w+ could not be removed/);
  });
});

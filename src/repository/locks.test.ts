import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { StoreError } from '../errors.ts';
import { createLocalStore } from '../stores/local.ts';
import type { Store } from '../stores/types.ts';
import { tempDir } from '../../test/helpers/temp.ts';
import { deriveKeys } from './crypto.ts';
import { LOST_AFTER_MS, REFRESH_EVERY_MS, acquireLock, listLocks } from './locks.ts';
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

describe('repository locks', () => {
  it('tells the holder its lock is lost once no refresh succeeded for LOST_AFTER_MS, before others take it for stale', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const { store, failing, lockWrites } = storeFailingLocks(dir.path);
    const keys = deriveKeys(randomBytes(64));
    t.mock.timers.enable({ apis: ['setInterval'] });
    let now = Date.now();
    const clock = { now: () => now, isAlive: () => true };
    const lock = await acquireLock(store, keys, { exclusive: false, operation: 'backup', clock });
    const later = () => (now += REFRESH_EVERY_MS);

    await refreshes(t.mock.timers, lockWrites, 12, later); // an hour, refreshed: held
    assert.equal(lock.lost.aborted, false);
    failing.locks = true;
    await refreshes(t.mock.timers, lockWrites, TICKS_TO_LOSE - 1, later);
    assert.equal(lock.lost.aborted, false, 'a few failed refreshes are retried');
    await refreshes(t.mock.timers, lockWrites, 1, later);
    assert.equal(lock.lost.aborted, true);
    assert.equal((lock.lost.reason as Error).name, 'RepositoryLockedError');
    // Lost before anyone else may judge it stale.
    const seen = await listLocks(store, keys, clock);
    assert.deepEqual(
      seen.map((l) => l.stale),
      [false],
    );
    failing.locks = false;
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
    const session = await startSession(repo);
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
});

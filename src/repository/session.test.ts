import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { StoreError } from '../errors.ts';
import { createLocalStore } from '../stores/local.ts';
import type { Store } from '../stores/types.ts';
import { FORTY_MINUTES, putForeignLock, writtenAgo } from '../../test/helpers/foreign-lock.ts';
import { pseudoRandomBytes, tempDir } from '../../test/helpers/temp.ts';
import { listStoredPacks } from './pack.ts';
import { initRepository, openRepository, type OpenRepository } from './repository.ts';
import { startSession } from './session.ts';

const credential = { kind: 'password', password: 'pw' } as const;
const commitInfo = { source: 'x', kind: 'test', type: 'full', startedAt: new Date() } as const;

/**
 * A local store that counts its listings of `data/` (every pack), and refuses to write index
 * objects while `refuseIndex.on`.
 */
function countingStore(path: string): {
  store: Store;
  packListings: () => number;
  refuseIndex: { on: boolean };
} {
  const local = createLocalStore({ path });
  let listings = 0;
  const refuseIndex = { on: false };
  const store: Store = {
    ...local,
    list: (prefix, options) => {
      if (prefix === 'data/') listings++;
      return local.list(prefix, options);
    },
    put: (key, data, options) =>
      refuseIndex.on && key.startsWith('index/')
        ? Promise.reject(new StoreError(`[store:test] put ${key}: refused`, { permanent: true }))
        : local.put(key, data, options),
  };
  return { store, packListings: () => listings, refuseIndex };
}

/** A repository of 64 KiB packs, and a backup of 6 MB in it: a pack for each chunk (~1 MiB). */
async function repositoryWithBackup(store: Store): Promise<OpenRepository> {
  await initRepository(store, credential, {
    scryptParams: { N: 1024, r: 8, p: 1 },
    packSize: 64 * 1024,
  });
  const repo = await openRepository(store, credential);
  const session = await startSession(repo);
  await session.saveContent(Readable.from([pseudoRandomBytes(6_000_000, 3)]));
  await session.commit(commitInfo);
  return openRepository(store, credential);
}

/** The packs of the store that no index object names. */
async function unindexedPacks(store: Store): Promise<string[]> {
  const index = await (await openRepository(store, credential)).index();
  const { packs } = await listStoredPacks(store);
  return [...packs.keys()].filter((id) => !index.hasPack(id));
}

describe('backup sessions', () => {
  it('look for packs no index names only when a session may have died: a stale lock is left', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const { store, packListings } = countingStore(dir.path);
    const repo = await repositoryWithBackup(store);
    // As if that backup had died before its index objects: its packs are stored, unindexed.
    for (const name of await readdir(join(dir.path, 'index')))
      await rm(join(dir.path, 'index', name));
    const lost = await unindexedPacks(store);
    assert.ok(lost.length >= 3, `${lost.length} packs`);

    // Packs listed by a session's start (one that stores nothing).
    const listingsOfAStart = async (): Promise<number> => {
      const before = packListings();
      await (await startSession(repo)).abort();
      return packListings() - before;
    };

    // Its lock gone (`hbr unlock`): nothing says a session died. Not looked for: their blobs are
    // stored again (prune adopts or removes the old packs).
    assert.equal(await listingsOfAStart(), 0);
    assert.deepEqual((await unindexedPacks(store)).sort(), lost.sort());

    // Its lock left behind, stale: the next session lists the packs and indexes them.
    await putForeignLock(store, repo.keys, 'locks/died', Date.now());
    await writtenAgo(dir.path, 'locks/died', FORTY_MINUTES);
    assert.equal(await listingsOfAStart(), 1);
    assert.deepEqual(await unindexedPacks(store), []);

    // Beside a live lock, none.
    await rm(join(dir.path, 'locks', 'died'));
    await putForeignLock(store, repo.keys, 'locks/running', Date.now());
    assert.equal(await listingsOfAStart(), 0);
  });

  it('index the packs they stored when they stop without a commit, and still stop when they cannot', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const { store, refuseIndex } = countingStore(dir.path);
    const repo = await repositoryWithBackup(store);
    const stopped = async (seed: number): Promise<void> => {
      const session = await startSession(repo);
      await session.saveContent(Readable.from([pseudoRandomBytes(6_000_000, seed)]));
      await session.abort();
    };
    const before = (await listStoredPacks(store)).packs.size;
    await stopped(4);
    assert.ok((await listStoredPacks(store)).packs.size >= before + 3, 'packs were stored');
    assert.deepEqual(await unindexedPacks(store), [], 'an index names them');

    // The index cannot be written (the store failed): the session stops all the same, its
    // lock removed, the packs left for prune.
    refuseIndex.on = true;
    await stopped(5);
    refuseIndex.on = false;
    assert.ok((await unindexedPacks(store)).length >= 3);
    assert.deepEqual(await readdir(join(dir.path, 'locks')), []);
  });
});

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pseudoRandomBytes, tempDir } from '../../test/helpers/temp.ts';
import { createLocalStore } from '../stores/local.ts';
import { StoreError } from '../errors.ts';
import type { Store } from '../stores/types.ts';
import type { Credential } from './keys.ts';
import { forgetBackups } from './prune.ts';
import { initRepository, openRepository, type OpenRepository } from './repository.ts';
import { extendRetentionLocks } from './retention-locks.ts';
import { startSession } from './session.ts';

const fast = { scryptParams: { N: 1024, r: 8, p: 1 }, packSize: 1024 * 1024 };
const password: Credential = { kind: 'password', password: 'pw' };

/**
 * A local store that claims retention support and records `extendRetention` calls. Neither
 * Azurite nor s3proxy implements object retention (test/stores/retention.test.ts), so this is
 * the only way to exercise the selection logic here.
 */
function recordingRetention(store: Store): { store: Store; calls: Map<string, Date> } {
  const calls = new Map<string, Date>();
  return {
    calls,
    store: {
      ...store,
      properties: { ...store.properties, supportsRetention: true },
      async extendRetention(key, until) {
        assert.ok(await store.head(key), `extendRetention of missing ${key}`);
        calls.set(key, until);
      },
    },
  };
}

async function keys(store: Store, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out.sort();
}

async function backup(repo: OpenRepository, seed: number): Promise<string> {
  const session = await startSession(repo);
  await session.addArtifact('a.bin', Readable.from([pseudoRandomBytes(3 * 1024 * 1024, seed)]));
  const record = await session.commit({
    source: 'db',
    kind: 'test',
    type: 'full',
    startedAt: new Date(),
  });
  return record.id;
}

describe('extendRetentionLocks', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let local: Store;
  beforeEach(async () => {
    dir = await tempDir();
    local = createLocalStore({ path: join(dir.path, 'repo') });
  });
  afterEach(async () => dir.remove());

  it('extends every object kept backups need, and leaves packs only forgotten backups need', async () => {
    const setup = await initRepository(local, password, fast);
    const first = await backup(setup, 1);
    const second = await backup(setup, 2);
    const firstPacks = await keys(local, 'data/');
    await backup(setup, 3);
    await forgetBackups(setup, [first]);

    const { store, calls } = recordingRetention(local);
    const repo = await openRepository(store, password);
    const until = new Date('2030-01-01T00:00:00Z');
    const report = await extendRetentionLocks(repo, { retainUntil: until });

    assert.equal(report.supported, true);
    const allPacks = await keys(local, 'data/');
    const onlyFirst = firstPacks.filter((k) => !calls.has(k));
    const expected = [
      'config',
      ...(await keys(local, 'keys/')),
      ...(await keys(local, 'index/')),
      ...(await keys(local, 'snapshots/')),
    ];
    for (const key of expected) assert.equal(calls.get(key)?.getTime(), until.getTime(), key);
    assert.ok(!calls.has(`snapshots/${first}`));
    assert.ok(calls.has(`snapshots/${second}`));
    // Seed 1's data is in no kept backup: the packs holding only its blobs are left to expire.
    assert.ok(onlyFirst.length >= 2, `packs left: ${onlyFirst.length}`);
    assert.equal(report.packsLeft, onlyFirst.length);
    assert.equal(report.extended.data, allPacks.length - onlyFirst.length);
    assert.equal(calls.size, expected.length + report.extended.data);
    assert.equal(report.extended.snapshots, 2);
  });

  it('extends every other object when the store refuses one, and names that one', async () => {
    const setup = await initRepository(local, password, fast);
    await backup(setup, 5);
    const { store, calls } = recordingRetention(local);
    const refusing: Store = {
      ...store,
      async extendRetention(key, until, opts) {
        if (key === 'config')
          throw new StoreError(`[store:test] extend retention of ${key}: 403`, { permanent: true });
        return store.extendRetention?.(key, until, opts);
      },
    };
    const repo = await openRepository(refusing, password);
    const report = await extendRetentionLocks(repo, { retainUntil: new Date('2030-01-01') });
    assert.deepEqual(report.failed, [
      { key: 'config', message: '[store:test] extend retention of config: 403' },
    ]);
    assert.equal(report.extended.config, 0);
    assert.ok(report.extended.data > 0 && report.extended.snapshots === 1);
    assert.ok(!calls.has('config') && calls.size > 2);
  });

  it('says the store has no retention and changes nothing there', async () => {
    const repo = await initRepository(local, password, fast);
    await backup(repo, 4);
    let called = 0;
    const store: Store = {
      ...local,
      extendRetention: () => {
        called++;
        return Promise.resolve();
      },
    };
    const report = await extendRetentionLocks(await openRepository(store, password), {
      retainUntil: new Date(Date.now() + 86_400_000),
    });
    assert.equal(report.supported, false);
    assert.equal(called, 0);
    assert.deepEqual(await keys(local, 'locks/'), [], 'no lock was taken');
  });
});

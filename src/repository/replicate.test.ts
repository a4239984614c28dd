import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pseudoRandomBytes, tempDir } from '../../test/helpers/temp.ts';
import { createLocalStore } from '../stores/local.ts';
import type { ObjectInfo, Store } from '../stores/types.ts';
import { checkRepository } from './check.ts';
import { addKey, type Credential } from './keys.ts';
import { acquireLock } from './locks.ts';
import { replicateRepository } from './replicate.ts';
import { initRepository, openRepository, type OpenRepository } from './repository.ts';
import { startSession } from './session.ts';

const fast = { scryptParams: { N: 1024, r: 8, p: 1 }, packSize: 1024 * 1024 };
const password: Credential = { kind: 'password', password: 'pw' };

async function keysOf(store: Store, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) if (!o.key.startsWith('locks/')) out.push(o.key);
  return out.sort();
}

async function backup(repo: OpenRepository, seed: number, size = 5 * 1024 * 1024): Promise<void> {
  const session = await startSession(repo);
  await session.addArtifact('a.bin', Readable.from([pseudoRandomBytes(size, seed)]));
  await session.commit({ source: 'db', kind: 'test', type: 'full', startedAt: new Date() });
}

/** A store that aborts `controller` after `after` puts of repository objects have completed. */
function abortingAfter(store: Store, after: number, controller: AbortController): Store {
  let puts = 0;
  return {
    ...store,
    async put(key, data, options) {
      await store.put(key, data, options);
      if (!key.startsWith('locks/') && ++puts === after) controller.abort(new Error('test abort'));
    },
  };
}

describe('replicateRepository', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let source: Store;
  let target: Store;
  let repo: OpenRepository;
  beforeEach(async () => {
    dir = await tempDir();
    source = createLocalStore({ path: join(dir.path, 'source') });
    target = createLocalStore({ path: join(dir.path, 'target') });
    repo = await initRepository(source, password, fast);
    await backup(repo, 1);
  });
  afterEach(async () => dir.remove());

  it('copies every object into an empty target, byte for byte, and then copies nothing more', async () => {
    const first = await replicateRepository(source, target, { keys: repo.keys });
    assert.equal(first.ok, true);
    assert.equal(first.newReplica, true);
    assert.deepEqual(await keysOf(target), await keysOf(source));
    for (const key of await keysOf(source))
      assert.deepEqual(await target.get(key), await source.get(key), key);
    assert.ok(first.kinds.data.copied >= 4, `packs copied: ${first.kinds.data.copied}`);
    assert.equal(first.kinds.snapshots.copied, 1);
    assert.equal(first.kinds.config.copied, 1);
    assert.deepEqual(await keysOf(target, 'locks/'), [], 'locks are not copied');

    const second = await replicateRepository(source, target, { keys: repo.keys });
    assert.equal(second.newReplica, false);
    assert.equal(second.copiedObjects, 0);
    assert.equal(second.kinds.data.present, first.kinds.data.copied);

    const replica = await openRepository(target, password);
    assert.equal((await replica.backups()).length, 1);
    assert.equal((await checkRepository(replica, { readData: true })).ok, true);
  });

  it('copies only what is new after another backup', async () => {
    await replicateRepository(source, target, { keys: repo.keys });
    await backup(repo, 2, 2 * 1024 * 1024);
    const report = await replicateRepository(source, target, { keys: repo.keys });
    assert.equal(report.kinds.snapshots.copied, 1);
    assert.equal(report.kinds.snapshots.present, 1);
    assert.equal(report.kinds.keys.copied + report.kinds.config.copied, 0);
    assert.deepEqual(await keysOf(target), await keysOf(source));
  });

  it('copies keys to a new replica only: a key removed there stays removed, one added here stays here', async () => {
    await replicateRepository(source, target, { keys: repo.keys });
    const [replicaKey] = await keysOf(target, 'keys/');
    assert.ok(replicaKey);
    // A leaked password is removed from the replica (its own key added first, as key remove asks).
    await addKey(target, repo.masterKey, { kind: 'password', password: 'replica only' }, fast);
    await target.delete(replicaKey);
    const added = await addKey(
      source,
      repo.masterKey,
      { kind: 'password', password: 'new here' },
      fast,
    );
    const again = await replicateRepository(source, target, { keys: repo.keys });
    assert.equal(again.kinds.keys.copied, 0);
    await assert.rejects(openRepository(target, password), { name: 'WrongPasswordError' });
    assert.equal((await target.head(`keys/${added}`)) ?? null, null);
    await openRepository(target, { kind: 'password', password: 'replica only' });
  });

  it('refuses a target that holds a different repository', async () => {
    const other = await initRepository(target, password, fast);
    await backup(other, 3, 100_000);
    const before = await keysOf(target);
    await assert.rejects(replicateRepository(source, target, { keys: repo.keys }), (error) => {
      assert.equal((error as Error).name, 'UsageError');
      assert.match((error as Error).message, /holds a different repository/);
      return true;
    });
    assert.deepEqual(await keysOf(target), before, 'nothing was written');
  });

  it('tells a damaged config of the replica from another repository', async () => {
    await replicateRepository(source, target, { keys: repo.keys });
    const config = await readFile(join(dir.path, 'target', 'config'));
    config[config.length - 5] = (config[config.length - 5] ?? 0) ^ 1;
    await writeFile(join(dir.path, 'target', 'config'), config);
    await assert.rejects(replicateRepository(source, target, { keys: repo.keys }), {
      name: 'IntegrityError',
      message: /config is damaged \(1 byte\(s\) differ/,
    });
  });

  it('waits for no prune: refuses while the replica is locked exclusively', async () => {
    await replicateRepository(source, target, { keys: repo.keys });
    const pruning = await acquireLock(target, repo.keys, { exclusive: true, operation: 'prune' });
    try {
      await assert.rejects(replicateRepository(source, target, { keys: repo.keys }), {
        name: 'RepositoryLockedError',
      });
    } finally {
      await pruning.release();
    }
    const locks: string[] = [];
    for await (const o of source.list('locks/')) locks.push(o.key);
    assert.deepEqual(locks, [], 'the source lock was released');
  });

  it('does not copy a damaged source object, copies everything else and names it', async () => {
    const packs = await keysOf(source, 'data/');
    const damaged = packs[0] ?? '';
    const path = join(dir.path, 'source', damaged);
    const bytes = await readFile(path);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    await writeFile(path, bytes);

    const report = await replicateRepository(source, target, { keys: repo.keys });
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.errors.map((e) => e.key),
      [damaged],
    );
    assert.match(report.errors[0]?.message ?? '', /content does not match its name/);
    assert.equal(report.kinds.data.failed, 1);
    const copied = await keysOf(target);
    assert.ok(!copied.includes(damaged));
    assert.deepEqual(
      copied,
      (await keysOf(source)).filter((k) => k !== damaged),
    );
  });

  it('leaves a valid replica when aborted part way, and the next run copies only the rest', async () => {
    const controller = new AbortController();
    await assert.rejects(
      replicateRepository(source, abortingAfter(target, 4, controller), {
        keys: repo.keys,
        signal: controller.signal,
        concurrency: 1,
      }),
      /test abort/,
    );
    const partial = await keysOf(target);
    assert.ok(partial.length >= 4 && partial.length < (await keysOf(source)).length);
    assert.ok(!partial.some((k) => k.startsWith('snapshots/')), 'no manifest before its data');
    // The partial replica opens and checks clean: packs without index are tolerated.
    const replica = await openRepository(target, password);
    assert.deepEqual(await replica.backups(), []);
    assert.equal((await checkRepository(replica, {})).ok, true);

    const copies: string[] = [];
    const recording: Store = {
      ...target,
      put: async (key, data, options) => {
        if (!key.startsWith('locks/')) copies.push(key);
        await target.put(key, data, options);
      },
    };
    const report = await replicateRepository(source, recording, { keys: repo.keys });
    assert.equal(report.ok, true);
    assert.ok(
      copies.every((key) => !partial.includes(key)),
      'nothing copied twice',
    );
    assert.deepEqual(await keysOf(target), await keysOf(source));
  });

  it('copies again an object the replica holds with the wrong size', async () => {
    await replicateRepository(source, target, { keys: repo.keys });
    const pack = (await keysOf(target, 'data/'))[0] ?? '';
    const path = join(dir.path, 'target', pack);
    const whole = await readFile(path);
    await writeFile(path, whole.subarray(0, whole.length >> 1));
    const report = await replicateRepository(source, target, { keys: repo.keys });
    assert.equal(report.kinds.data.copied, 1);
    assert.deepEqual(await target.get(pack), await source.get(pack));
  });

  it('sets the retain-until on copied objects where the target supports retention', async () => {
    const until = new Date('2031-05-01T00:00:00Z');
    const retained: (Date | undefined)[] = [];
    const withRetention = (supportsRetention: boolean): Store => ({
      ...target,
      properties: { ...target.properties, supportsRetention },
      put: async (key, data, options) => {
        if (!key.startsWith('locks/')) retained.push(options?.retainUntil);
        await target.put(key, data, options);
      },
    });
    await replicateRepository(source, withRetention(false), {
      keys: repo.keys,
      retainUntil: until,
    });
    assert.ok(retained.length > 0 && retained.every((d) => d === undefined));
    retained.length = 0;
    await backup(repo, 9, 100_000);
    await replicateRepository(source, withRetention(true), { keys: repo.keys, retainUntil: until });
    assert.ok(retained.length > 0 && retained.every((d) => d === until));
  });

  it('copies packs before index objects and index objects before manifests', async () => {
    const order: string[] = [];
    const recording: Store = {
      ...target,
      put: async (key, data, options) => {
        if (!key.startsWith('locks/')) order.push(key.split('/')[0] ?? key);
        await target.put(key, data, options);
      },
      list: (prefix, options): AsyncIterable<ObjectInfo> => target.list(prefix, options),
    };
    await replicateRepository(source, recording, { keys: repo.keys, concurrency: 3 });
    const firstOf = (kind: string): number => order.indexOf(kind);
    const lastOf = (kind: string): number => order.lastIndexOf(kind);
    assert.ok(lastOf('keys') < firstOf('config'));
    assert.ok(lastOf('config') < firstOf('data'));
    assert.ok(lastOf('data') < firstOf('index'));
    assert.ok(lastOf('index') < firstOf('snapshots'));
  });
});

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pseudoRandomBytes, tempDir } from '../../test/helpers/temp.ts';
import { StoreError } from '../errors.ts';
import { createLocalStore } from '../stores/local.ts';
import type { ObjectInfo, Store } from '../stores/types.ts';
import { checkRepository } from './check.ts';
import { addKey, type Credential } from './keys.ts';
import { LOST_AFTER_MS, REFRESH_EVERY_MS, acquireLock } from './locks.ts';
import { replicateRepository, type ReplicationProgress } from './replicate.ts';
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

/** The objects listed under `prefix`. */
async function _listed(store: Store, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of store.list(prefix)) out.push(o);
  return out;
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

describe('replicating large packs between remote stores', () => {
  let dir: { path: string; remove: () => Promise<void> };
  afterEach(async () => dir.remove());

  it('holds no more than 96 MiB of objects in memory at once', async () => {
    dir = await tempDir();
    const MiB = 1024 * 1024;
    const local = createLocalStore({ path: join(dir.path, 'source') });
    const repo = await initRepository(local, password, { ...fast, packSize: 9 * MiB });
    await backup(repo, 3, 110 * MiB);
    // Both as Azure's and S3's are by default: 16 connections. A pack is held from the end of
    // its read to the end of its write; reads take a while, as over a network.
    let held = 0;
    let most = 0;
    const remote = (store: Store): Store => ({
      ...store,
      properties: { ...store.properties, connections: 16, remote: true },
    });
    const source = remote({
      ...local,
      async get(key, options) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        const bytes = await local.get(key, options);
        if (key.startsWith('data/')) most = Math.max(most, (held += bytes.length));
        return bytes;
      },
    });
    const copy = createLocalStore({ path: join(dir.path, 'target') });
    const target = remote({
      ...copy,
      async put(key, data, options) {
        await copy.put(key, data, options);
        if (key.startsWith('data/')) held -= data.length;
      },
    });
    const report = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(report.ok, true);
    assert.ok(report.kinds.data.copied >= 12, `${report.kinds.data.copied} packs copied`);
    assert.ok(most <= 96 * MiB, `${(most / MiB).toFixed(0)} MiB held at once`);
  });
});

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
    const first = await replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId });
    assert.equal(first.ok, true);
    assert.equal(first.newReplica, true);
    assert.deepEqual(await keysOf(target), await keysOf(source));
    for (const key of await keysOf(source))
      assert.deepEqual(await target.get(key), await source.get(key), key);
    assert.ok(first.kinds.data.copied >= 4, `packs copied: ${first.kinds.data.copied}`);
    assert.equal(first.kinds.snapshots.copied, 1);
    assert.equal(first.kinds.config.copied, 1);
    assert.deepEqual(await keysOf(target, 'locks/'), [], 'locks are not copied');

    const second = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(second.newReplica, false);
    assert.equal(second.copiedObjects, 0);
    assert.equal(second.kinds.data.present, first.kinds.data.copied);

    const replica = await openRepository(target, password);
    assert.equal((await replica.backups()).length, 1);
    assert.equal((await checkRepository(replica, { readData: true })).ok, true);
  });

  it('reports progress of the whole run against its totals, while copying and while only reading', async () => {
    /** Asserts counts that rise by one object at a time to totals that do not change. */
    const assertRising = (steps: ReplicationProgress[], objects: number, bytes: number): void => {
      assert.deepEqual(
        steps.map((p) => p.objectsDone),
        steps.map((_, i) => i + 1),
      );
      for (const p of steps) assert.deepEqual([p.objectsTotal, p.bytesTotal], [objects, bytes]);
      for (let i = 1; i < steps.length; i++)
        assert.ok(steps[i]!.bytesDone > steps[i - 1]!.bytesDone, `bytes rise at step ${i}`);
      assert.equal(steps.at(-1)?.bytesDone, bytes);
    };
    const copying: ReplicationProgress[] = [];
    const first = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
      onProgress: (p) => copying.push(p),
    });
    assertRising(copying, first.copiedObjects, first.copiedBytes);

    // Up to date: nothing is copied, but every index object and manifest of the source is read
    // for the gap check, which on a remote source is minutes of a silent process without this.
    await backup(repo, 2, 1024);
    await replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId });
    const read = [...(await _listed(source, 'index/')), ...(await _listed(source, 'snapshots/'))];
    assert.ok(read.length >= 4, `index objects and manifests: ${read.length}`);
    const reading: ReplicationProgress[] = [];
    const again = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
      onProgress: (p) => reading.push(p),
    });
    assert.equal(again.copiedObjects, 0);
    assertRising(
      reading,
      read.length,
      read.reduce((n, o) => n + o.size, 0),
    );
    assert.deepEqual(new Set(reading.map((p) => p.kind)), new Set(['index', 'snapshots']));
  });

  it('tells of each object listed before any is read, of both repositories', async () => {
    await replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId });
    await backup(repo, 3, 1024);
    const prefixes = ['notes/', 'snapshots/', 'index/', 'data/', 'keys/'];
    const count = async (store: Store): Promise<number> =>
      (await Promise.all(prefixes.map((p) => _listed(store, p)))).reduce((n, l) => n + l.length, 0);
    // Every object of both, the replica's as they were before the run (all but the last backup's).
    const expected = (await count(source)) + (await count(target));
    const listing: { listed: number; prefix: string }[] = [];
    await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
      onListing: (l) => listing.push({ ...l }),
    });
    assert.deepEqual(
      listing.map((l) => l.listed),
      Array.from({ length: expected }, (_, i) => i + 1),
    );
    assert.ok(listing.some((l) => l.prefix === `${source.name}: data/`));
    assert.ok(listing.some((l) => l.prefix === `${target.name}: data/`));
  });

  it('copies only what is new after another backup', async () => {
    await replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId });
    await backup(repo, 2, 2 * 1024 * 1024);
    const report = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(report.kinds.snapshots.copied, 1);
    assert.equal(report.kinds.snapshots.present, 1);
    assert.equal(report.kinds.keys.copied + report.kinds.config.copied, 0);
    assert.deepEqual(await keysOf(target), await keysOf(source));
  });

  it('copies every key the replica lacks on every run: a password added and the old one removed on the source opens the replica', async () => {
    await replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId });
    const fresh: Credential = { kind: 'password', password: 'new here' };
    const added = await addKey(source, repo.masterKey, fresh, fast);
    await source.delete(`keys/${repo.keyId}`); // `hbr key remove` of the old password
    const now = await openRepository(source, fresh);

    const again = await replicateRepository(source, target, { keys: now.keys, keyId: now.keyId });
    assert.equal(again.ok, true);
    assert.equal(again.kinds.keys.copied, 1);
    assert.deepEqual(await target.get(`keys/${added}`), await source.get(`keys/${added}`));
    assert.equal((await (await openRepository(target, fresh)).backups()).length, 1);
    // The removed key stays on the replica (it may be write-once): a warning, not a deletion.
    await openRepository(target, password);
    assert.deepEqual(
      again.warnings.map((w) => [w.key, w.reason]),
      [[`keys/${repo.keyId}`, 'removed-key']],
    );
    assert.match(again.warnings[0]?.message ?? '', /no longer on the source.*not deleted/);

    // Keys lost on the replica are copied again.
    for (const key of await keysOf(target, 'keys/')) await target.delete(key);
    const restored = await replicateRepository(source, target, {
      keys: now.keys,
      keyId: now.keyId,
    });
    assert.equal(restored.kinds.keys.copied, 1);
    await openRepository(target, fresh);
  });

  it('reports a replica whose copy of the key that opened the source differs, instead of success', async () => {
    await replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId });
    const path = join(dir.path, 'target', 'keys', repo.keyId);
    const bytes = await readFile(path);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 1; // same size: not copied again
    await writeFile(path, bytes);
    const report = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.errors.map((e) => [e.key, e.reason]),
      [[`keys/${repo.keyId}`, 'key']],
    );
    assert.match(
      report.errors[0]?.message ?? '',
      /key that opened the source, is damaged on the replica/,
    );
  });

  it('refuses a target that holds a different repository', async () => {
    const other = await initRepository(target, password, fast);
    await backup(other, 3, 100_000);
    const before = await keysOf(target);
    await assert.rejects(
      replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId }),
      (error) => {
        assert.equal((error as Error).name, 'UsageError');
        assert.match((error as Error).message, /holds a different repository/);
        return true;
      },
    );
    assert.deepEqual(await keysOf(target), before, 'nothing was written');
  });

  it('tells a damaged config of the replica from another repository', async () => {
    await replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId });
    const config = await readFile(join(dir.path, 'target', 'config'));
    config[config.length - 5] = (config[config.length - 5] ?? 0) ^ 1;
    await writeFile(join(dir.path, 'target', 'config'), config);
    await assert.rejects(
      replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId }),
      {
        name: 'IntegrityError',
        message: /config is damaged \(1 byte\(s\) differ/,
      },
    );
  });

  it('waits for no prune: refuses while the replica is locked exclusively', async () => {
    await replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId });
    const pruning = await acquireLock(target, repo.keys, { exclusive: true, operation: 'prune' });
    try {
      await assert.rejects(
        replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId }),
        {
          name: 'RepositoryLockedError',
        },
      );
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

    const report = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
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
        keyId: repo.keyId,
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
    const report = await replicateRepository(source, recording, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(report.ok, true);
    assert.ok(
      copies.every((key) => !partial.includes(key)),
      'nothing copied twice',
    );
    assert.deepEqual(await keysOf(target), await keysOf(source));
  });

  it('copies again an object the replica holds with the wrong size', async () => {
    await replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId });
    const pack = (await keysOf(target, 'data/'))[0] ?? '';
    const path = join(dir.path, 'target', pack);
    const whole = await readFile(path);
    await writeFile(path, whole.subarray(0, whole.length >> 1));
    const report = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(report.kinds.data.copied, 1);
    assert.deepEqual(await target.get(pack), await source.get(pack));
  });

  it('sets the retain-until on copied objects, and refuses before copying where the target has no retention', async () => {
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
    await assert.rejects(
      replicateRepository(source, withRetention(false), {
        keys: repo.keys,
        keyId: repo.keyId,
        retainUntil: until,
      }),
      { name: 'UsageError', message: /does not support object retention.*nothing was copied/ },
    );
    assert.deepEqual(retained, []);
    assert.deepEqual(await keysOf(target), []);
    await replicateRepository(source, withRetention(true), {
      keys: repo.keys,
      keyId: repo.keyId,
      retainUntil: until,
    });
    assert.ok(retained.length > 0 && retained.every((d) => d === until));
  });

  it('reports a pack the source index names but the source lacks, as source damage', async () => {
    const pack = (await keysOf(source, 'data/'))[1] ?? '';
    await source.delete(pack);
    const report = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.errors.map((e) => [e.key, e.reason]),
      [[pack, 'missing']],
    );
    assert.match(
      report.errors[0]?.message ?? '',
      /missing from the source, so the replica lacks it too/,
    );
    // Everything else was copied all the same.
    assert.deepEqual(await keysOf(target), await keysOf(source));
  });

  it('reports backups whose root tree is in no index of the source (an index object lost)', async () => {
    for (const key of await keysOf(source, 'index/')) await source.delete(key);
    const [manifest] = await keysOf(source, 'snapshots/');
    const report = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.errors.map((e) => [e.key, e.reason]),
      [[manifest, 'missing']],
    );
    assert.match(report.errors[0]?.message ?? '', /root tree [0-9a-f]{16}… is in no index object/);
  });

  it('finds gaps through index objects and manifests the replica already holds', async () => {
    await replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId });
    const pack = (await keysOf(source, 'data/'))[1] ?? '';
    await source.delete(pack);
    const lostPack = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(lostPack.ok, true);
    assert.deepEqual(
      lostPack.warnings.map((w) => [w.key, w.reason]),
      [[pack, 'missing']],
    );
    assert.match(lostPack.warnings[0]?.message ?? '', /the replica still holds it/);

    for (const key of await keysOf(source, 'index/')) await source.delete(key);
    const [manifest] = await keysOf(source, 'snapshots/');
    const lostIndex = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(lostIndex.copiedObjects, 0);
    assert.deepEqual(
      lostIndex.errors.map((e) => [e.key, e.reason]),
      [[manifest, 'missing']],
    );
  });

  it('takes no index object or manifest in a subfolder for one in finding gaps (hbr never reads them there)', async () => {
    // An index object lost and "repaired" with `cp -r replica/index source/index`, which puts
    // the copies one folder down: the backup's root tree is still in no index object hbr reads.
    await replicateRepository(source, target, { keys: repo.keys, keyId: repo.keyId });
    const [manifest] = await keysOf(source, 'snapshots/');
    const strays: string[] = [];
    for (const key of await keysOf(source, 'index/')) {
      strays.push(key.replace('index/', 'index/index/'));
      await source.put(key.replace('index/', 'index/index/'), await source.get(key));
      await source.delete(key);
    }
    const result = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.errors.filter((e) => e.reason === 'missing').map((e) => e.key),
      [manifest],
    );
    // Nor are they copied: on the replica too they would be objects hbr never reads.
    assert.deepEqual(
      result.warnings.map((w) => [w.key, w.reason]),
      strays.map((key) => [key, 'misplaced']),
    );
    assert.deepEqual(await keysOf(target, 'index/index/'), []);
  });

  it('warns of a pack in another folder than its name, as check does, and does not copy it', async () => {
    const pack = (await keysOf(source, 'data/'))[0] ?? '';
    const name = pack.slice(pack.lastIndexOf('/') + 1);
    const stray = `data/${name.startsWith('00') ? '01' : '00'}/${name}`;
    await source.put(stray, await source.get(pack));
    const report = await replicateRepository(source, target, {
      keys: repo.keys,
      keyId: repo.keyId,
    });
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.warnings.map((w) => [w.key, w.reason]),
      [[stray, 'misplaced']],
    );
    assert.match(report.warnings[0]?.message ?? '', /not where a pack of that name belongs/);
    assert.doesNotMatch(report.warnings[0]?.message ?? '', /does not match/);
    assert.equal((await target.head(stray)) ?? null, null);
    const replica = await openRepository(target, password);
    assert.equal((await checkRepository(replica, { readData: true })).ok, true);
  });

  it('writes no index object or manifest once its lock is lost (a run suspended past the refreshes)', async (t) => {
    let failing = false;
    let lockWrites = 0;
    const flaky: Store = {
      ...source,
      put: async (key, data, options) => {
        if (!key.startsWith('locks/')) return source.put(key, data, options);
        try {
          if (failing) throw new StoreError('[store] put: 503', { permanent: false, status: 503 });
          return await source.put(key, data, options);
        } finally {
          lockWrites++;
        }
      },
    };
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.now() });
    // A lock's holder times itself by the monotonic clock, which the mock timers do not move.
    t.mock.method(performance, 'now', () => Date.now());
    let lost = false;
    const stalling: Store = {
      ...target,
      put: async (key, data, options) => {
        await target.put(key, data, options);
        if (lost || !key.startsWith('data/')) return;
        lost = true;
        failing = true; // the source's lock can no longer be refreshed
        for (let i = 0; i <= LOST_AFTER_MS / REFRESH_EVERY_MS; i++) {
          const before = lockWrites;
          t.mock.timers.tick(REFRESH_EVERY_MS);
          while (lockWrites === before) await new Promise((resolve) => setImmediate(resolve));
          await new Promise((resolve) => setImmediate(resolve));
        }
      },
    };
    await assert.rejects(
      replicateRepository(flaky, stalling, { keys: repo.keys, keyId: repo.keyId, concurrency: 1 }),
      { name: 'RepositoryLockedError', message: /could not be refreshed/ },
    );
    failing = false;
    assert.deepEqual(await keysOf(target, 'index/'), []);
    assert.deepEqual(await keysOf(target, 'snapshots/'), []);
  });

  it('reads each index object and manifest of the source once a run, copied or already on the replica', async () => {
    await backup(repo, 2, 1024 * 1024);
    const reads = new Map<string, number>();
    const counting: Store = {
      ...source,
      get: async (key, options) => {
        reads.set(key, (reads.get(key) ?? 0) + 1);
        return source.get(key, options);
      },
    };
    const replicateCounting = async (): Promise<string[]> => {
      reads.clear();
      const report = await replicateRepository(counting, target, {
        keys: repo.keys,
        keyId: repo.keyId,
      });
      assert.equal(report.ok, true);
      const read = [...(await keysOf(source, 'index/')), ...(await keysOf(source, 'snapshots/'))];
      assert.deepEqual(
        read.filter((key) => reads.get(key) !== 1),
        [],
        `read other than once: ${JSON.stringify(Object.fromEntries(reads))}`,
      );
      return read;
    };
    await replicateCounting(); // a new replica: every one is copied
    await backup(repo, 3, 1024 * 1024);
    await replicateCounting(); // two backups already there, one new
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
    await replicateRepository(source, recording, {
      keys: repo.keys,
      keyId: repo.keyId,
      concurrency: 3,
    });
    const firstOf = (kind: string): number => order.indexOf(kind);
    const lastOf = (kind: string): number => order.lastIndexOf(kind);
    assert.ok(lastOf('keys') < firstOf('config'));
    assert.ok(lastOf('config') < firstOf('data'));
    assert.ok(lastOf('data') < firstOf('index'));
    assert.ok(lastOf('index') < firstOf('snapshots'));
  });
});

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeStoreContract, collect } from '../../test/contracts/store.ts';
import { tempDir } from '../../test/helpers/temp.ts';
import { createLocalStore } from './local.ts';
import { objectCacheFolder, withObjectCache } from './object-cache.ts';
import type { GetOptions, Store } from './types.ts';

let dir: { path: string; remove: () => Promise<void> };
before(async () => {
  dir = await tempDir('hbr-object-cache-');
});
after(() => dir.remove());

// The cache keeps every promise of the store it wraps.
describeStoreContract(
  'local folder behind an object cache',
  (namespace) =>
    Promise.resolve(
      withObjectCache(
        createLocalStore({ path: join(dir.path, 'stores', namespace) }),
        join(dir.path, 'caches', namespace),
      ),
    ),
  { writers: true },
);

/** A key named as index objects and manifests are: the SHA-256 of the bytes. */
function named(prefix: 'index' | 'snapshots', bytes: Buffer): string {
  return `${prefix}/${createHash('sha256').update(bytes).digest('hex')}`;
}

let count = 0;
/**
 * A local store, the same store behind an object cache, its cache folder, and the reads that
 * reached the store (key, and whether ranged).
 */
function setup(): { store: Store; cached: Store; folder: string; reads: string[] } {
  const n = count++;
  const store = createLocalStore({ path: join(dir.path, `store-${n}`) });
  const folder = join(dir.path, `cache-${n}`);
  const reads: string[] = [];
  const counted: Store = {
    ...store,
    get(key: string, options?: GetOptions) {
      reads.push(options?.range ? `${key} (range)` : key);
      return store.get(key, options);
    },
  };
  return { store, cached: withObjectCache(counted, folder), folder, reads };
}

describe('object cache', () => {
  it('reads an index object or manifest from the store once, then from its copy', async () => {
    const { store, cached, folder, reads } = setup();
    const index = randomBytes(5000);
    const manifest = randomBytes(700);
    await store.put(named('index', index), index);
    await store.put(named('snapshots', manifest), manifest);
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(await cached.get(named('index', index)), index);
      assert.deepEqual(await cached.get(named('snapshots', manifest)), manifest);
    }
    assert.deepEqual(reads, [named('index', index), named('snapshots', manifest)]);
    assert.deepEqual(await readFile(join(folder, named('index', index))), index);
  });

  it('keeps a copy of what it puts, so the next command reads none of it', async () => {
    const { cached, reads } = setup();
    const manifest = randomBytes(900);
    await cached.put(named('snapshots', manifest), manifest);
    assert.deepEqual(await cached.get(named('snapshots', manifest)), manifest);
    assert.deepEqual(reads, []);
  });

  it('reads everything else, and ranges even of a copied object, from the store every time', async () => {
    const { store, cached, folder, reads } = setup();
    const index = randomBytes(3000);
    await store.put(named('index', index), index);
    await store.put('config', Buffer.from('config'));
    await store.put('data/ab/abcdef', Buffer.from('pack'));
    await store.put('keys/k1', Buffer.from('key'));
    // Copied whole: a range of it is still the store's to give.
    await cached.get(named('index', index));
    for (let round = 0; round < 2; round++) {
      await cached.get('config');
      await cached.get('data/ab/abcdef');
      await cached.get('keys/k1');
      assert.deepEqual(
        await cached.get(named('index', index), { range: { offset: 10, length: 20 } }),
        index.subarray(10, 30),
      );
    }
    assert.equal(reads.length, 9);
    assert.deepEqual(await readdir(folder), ['index'], 'nothing else copied');
  });

  it('never serves a copy that no longer hashes to its name: it reads the store again', async () => {
    const { store, cached, folder, reads } = setup();
    const manifest = randomBytes(800);
    const key = named('snapshots', manifest);
    await store.put(key, manifest);
    await cached.get(key);
    // Damaged on the local disk, or put there by someone else.
    await writeFile(join(folder, key), Buffer.concat([manifest.subarray(1), Buffer.from('x')]));
    assert.deepEqual(await cached.get(key), manifest);
    assert.deepEqual(await readFile(join(folder, key)), manifest, 'the copy is made again');
    assert.equal(reads.length, 2);
  });

  it('copies no damage from the store: its reader meets it there', async () => {
    const { store, cached, folder } = setup();
    const good = randomBytes(600);
    const key = named('index', good);
    const damaged = Buffer.from(good);
    damaged[100] = (damaged[100] ?? 0) ^ 0xff;
    await store.put(key, damaged);
    assert.deepEqual(await cached.get(key), damaged);
    assert.deepEqual(await readdir(join(folder, 'index')).catch(() => []), []);
  });

  it('drops the copies of objects a whole listing no longer shows, and not after a partial one', async () => {
    const { store, cached, folder } = setup();
    const kept = randomBytes(500);
    const gone = randomBytes(501);
    for (const bytes of [kept, gone]) await cached.put(named('snapshots', bytes), bytes);
    // Forgotten by another host: this cache learns it from a listing.
    await store.delete(named('snapshots', gone));
    for await (const _info of cached.list('snapshots/')) break;
    assert.equal(
      (await readdir(join(folder, 'snapshots'))).length,
      2,
      'a cut listing drops nothing',
    );
    const listed = await collect(cached.list('snapshots/'));
    assert.deepEqual(
      listed.map((info) => info.key),
      [named('snapshots', kept)],
    );
    assert.deepEqual(await readdir(join(folder, 'snapshots')), [
      named('snapshots', kept).slice(10),
    ]);
  });

  it('drops the copy of what it deletes', async () => {
    const { cached, folder } = setup();
    const index = randomBytes(400);
    await cached.put(named('index', index), index);
    await cached.delete(named('index', index));
    assert.deepEqual(await readdir(join(folder, 'index')), []);
    await assert.rejects(cached.get(named('index', index)), { status: 404 });
  });

  it('fails no read when its folder cannot be written', async () => {
    const { store } = setup();
    const blocker = join(dir.path, `not-a-folder-${count++}`);
    await writeFile(blocker, 'a file where the cache folder would be');
    const cached = withObjectCache(store, join(blocker, 'cache'));
    const manifest = randomBytes(300);
    await cached.put(named('snapshots', manifest), manifest);
    assert.deepEqual(await cached.get(named('snapshots', manifest)), manifest);
  });

  it('gives each store a folder of its own under the cache folder', () => {
    const a = objectCacheFolder('/c', { name: 'azure:acct/one/repo' });
    const b = objectCacheFolder('/c', { name: 'azure:acct/two/repo' });
    assert.notEqual(a, b);
    assert.match(a, /^\/c\/objects\/[0-9a-f]{32}$/);
    assert.equal(a, objectCacheFolder('/c', { name: 'azure:acct/one/repo' }));
  });
});

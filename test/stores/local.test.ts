import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLocalStore } from '../../src/stores/local.ts';
import { describeStoreContract } from '../contracts/store.ts';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'hbr-local-store-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describeStoreContract(
  'local folder',
  (namespace) => Promise.resolve(createLocalStore({ path: join(root, namespace) })),
  { writers: true },
);

test('a local writer keeps no temporary file once committed or aborted', async () => {
  const path = join(root, 'writer-files');
  const store = createLocalStore({ path });
  const kept = await store.createWriter!();
  await kept.write(randomBytes(1024 * 1024 + 1));
  assert.equal((await readdir(path)).length, 1, 'a temporary file while writing');
  await kept.commit('data/aa/kept');
  const dropped = await store.createWriter!();
  await dropped.write(randomBytes(10));
  await dropped.abort();
  assert.deepEqual(await readdir(path), ['data']);
  assert.deepEqual(await readdir(join(path, 'data', 'aa')), ['kept']);
  assert.equal((await stat(join(path, 'data', 'aa', 'kept'))).size, 1024 * 1024 + 1);
});

test('a local store removes the temporary files crashed writes left, once they are old enough', async () => {
  const path = join(root, 'left-behind');
  const store = createLocalStore({ path });
  await store.put('data/aa/kept', randomBytes(100));
  await mkdir(join(path, 'data', 'aa'), { recursive: true });
  await writeFile(join(path, '.tmp-old-writer'), 'a pack cut short');
  await writeFile(join(path, 'data', 'aa', '.tmp-old-put'), 'an object cut short');
  await writeFile(join(path, 'data', 'aa', '.tmp-recent'), 'a write under way');
  const hoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
  await utimes(join(path, '.tmp-old-writer'), hoursAgo, hoursAgo);
  await utimes(join(path, 'data', 'aa', '.tmp-old-put'), hoursAgo, hoursAgo);
  const olderThan = new Date(Date.now() - 60 * 60 * 1000);
  assert.equal(await store.removeTemporary!({ olderThan }), 2);
  assert.deepEqual(await readdir(path), ['data']);
  assert.deepEqual((await readdir(join(path, 'data', 'aa'))).sort(), ['.tmp-recent', 'kept']);
  assert.equal((await store.get('data/aa/kept')).length, 100);
  assert.equal(await store.removeTemporary!({ olderThan }), 0);
});

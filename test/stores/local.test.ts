import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
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

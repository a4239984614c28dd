import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { createLocalStore } from '../../src/stores/local.ts';
import { describeStoreContract } from '../contracts/store.ts';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'hbr-local-store-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describeStoreContract('local folder', (namespace) =>
  Promise.resolve(createLocalStore({ path: join(root, namespace) })),
);

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/stores/location.ts';
import type { Store } from '../../src/stores/types.ts';
import { collect } from '../contracts/store.ts';
import { removeAzureContainer, removeS3Bucket, startService } from './services.ts';

let azurite: Record<string, string> = {};
let s3: Record<string, string> = {};
let dir = '';
const id = randomBytes(4).toString('hex');
const opened: Store[] = [];

before(async () => {
  [azurite, s3] = await Promise.all([startService('azurite'), startService('s3')]);
  dir = await mkdtemp(join(tmpdir(), 'hbr-open-'));
});
after(async () => {
  for (const store of opened) await store.close?.();
  await removeAzureContainer(azurite, `hbr-open-${id}`);
  await removeS3Bucket(s3, `hbr-open-${id}`);
  await rm(dir, { recursive: true, force: true });
});

/** What readers of `store` size their reads in flight by. */
const _depth = ({ properties: { remote, connections } }: Store) => ({ remote, connections });

async function roundTrip(store: Store): Promise<void> {
  opened.push(store);
  const data = randomBytes(300);
  await store.put('config', data);
  assert.deepEqual(await store.get('config'), data);
  assert.deepEqual(
    (await collect(store.list(''))).map(({ key, size }) => ({ key, size })),
    [{ key: 'config', size: 300 }],
  );
}

void describe('openStore', () => {
  void it('opens a local folder from a path', async () => {
    const store = await openStore(join(dir, 'repo'), { env: {} });
    assert.equal(store.name, `local:${join(dir, 'repo')}`);
    assert.equal(store.properties.remote, false);
    await roundTrip(store);
  });

  void it('opens Azure with an account key and endpoint from the environment', async () => {
    const env = {
      AZURE_STORAGE_ACCOUNT: azurite.AZURE_STORAGE_ACCOUNT,
      AZURE_STORAGE_KEY: azurite.AZURE_STORAGE_KEY,
      HBR_AZURE_ENDPOINT: azurite.AZURITE_BLOB_URL,
    };
    const store = await openStore(`azure://devstoreaccount1/hbr-open-${id}/key`, { env });
    assert.equal(store.name, `azure:devstoreaccount1/hbr-open-${id}/key`);
    // Remote: readers keep a read in flight per connection, each waiting its round trip.
    assert.deepEqual(_depth(store), { remote: true, connections: 16 });
    await roundTrip(store);
  });

  void it('opens Azure with a connection string in a credential file', async () => {
    const file = join(dir, 'azure-credential');
    await writeFile(file, azurite.AZURE_STORAGE_CONNECTION_STRING ?? '', { mode: 0o600 });
    await roundTrip(
      await openStore(`azure://devstoreaccount1/hbr-open-${id}/file`, {
        env: {},
        credentialFile: file,
      }),
    );
  });

  void it('opens S3 with the endpoint in the URL and keys from the environment', async () => {
    const env = {
      AWS_ACCESS_KEY_ID: s3.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: s3.AWS_SECRET_ACCESS_KEY,
    };
    const store = await openStore(
      `s3://hbr-open-${id}/env?endpoint=${s3.HBR_S3_ENDPOINT}&pathStyle=true&connections=8`,
      { env },
    );
    assert.equal(store.name, `s3:hbr-open-${id}/env`);
    assert.deepEqual(_depth(store), { remote: true, connections: 8 });
    await roundTrip(store);
  });

  void it('opens S3 with an AWS credentials file and the endpoint from HBR_S3_ENDPOINT', async () => {
    const file = join(dir, 'aws-credentials');
    await writeFile(
      file,
      `[default]\naws_access_key_id = ${s3.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${s3.AWS_SECRET_ACCESS_KEY}\n`,
    );
    const store = await openStore(`s3://hbr-open-${id}/file`, {
      env: { HBR_S3_ENDPOINT: s3.HBR_S3_ENDPOINT },
      credentialFile: file,
    });
    assert.deepEqual(_depth(store), { remote: true, connections: 16 });
    await roundTrip(store);
  });

  void it('fails with a permanent 403 naming the store when the S3 secret is wrong', async () => {
    const env = {
      AWS_ACCESS_KEY_ID: s3.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: 'wrong',
      HBR_S3_ENDPOINT: s3.HBR_S3_ENDPOINT,
    };
    const store = await openStore(`s3://hbr-open-${id}/wrong`, { env, retry: { minDelayMs: 1 } });
    await assert.rejects(store.get('config'), /\[store:s3:hbr-open-\w+\/wrong\] get config: 403/);
    await store.close?.();
  });
});

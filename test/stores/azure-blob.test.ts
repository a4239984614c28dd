import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BlobServiceClient } from '@azure/storage-blob';
import { StoreError } from '../../src/errors.ts';
import { deriveKeys, sealObject } from '../../src/repository/crypto.ts';
import { acquireLock, listLocks } from '../../src/repository/locks.ts';
import { createAzureBlobStore } from '../../src/stores/azure-blob.ts';
import { collect, describeStoreContract } from '../contracts/store.ts';
import { removeAzureContainer, startService } from './services.ts';

const container = `hbr-test-${randomBytes(4).toString('hex')}`;
let env: Record<string, string> = {};
let service: BlobServiceClient | undefined;

before(async () => {
  env = await startService('azurite');
  service = BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING ?? '');
});
after(async () => {
  await removeAzureContainer(env, container);
});

const open = (prefix: string) =>
  createAzureBlobStore({
    account: env.AZURE_STORAGE_ACCOUNT ?? '',
    container,
    prefix,
    credential: {
      kind: 'connection-string',
      connectionString: env.AZURE_STORAGE_CONNECTION_STRING ?? '',
    },
  });

describeStoreContract('Azure Blob Storage (Azurite)', open);

void describe('Azure Blob store', () => {
  void it("judges a lock by the blob's Last-Modified, not by the time its holder's clock recorded", async () => {
    const store = await open('lock-skew');
    const keys = deriveKeys(randomBytes(64));
    // A backup on a machine whose clock runs 40 minutes slow, its lock written just now.
    const info = {
      exclusive: false,
      host: 'slow-clock',
      pid: 4242,
      time: new Date(Date.now() - 40 * 60_000).toISOString(),
      operation: 'backup',
    };
    await store.put('locks/slow', sealObject(keys, 'lock', Buffer.from(JSON.stringify(info))));
    assert.deepEqual(
      (await listLocks(store, keys)).map((l) => `${l.key}:${l.stale}`),
      ['locks/slow:false'],
    );
    await assert.rejects(acquireLock(store, keys, { exclusive: true, operation: 'prune' }), {
      name: 'RepositoryLockedError',
      message: /pid 4242 on slow-clock/,
    });
    assert.deepEqual(
      (await collect(store.list('locks/'))).map((l) => l.key),
      ['locks/slow'],
      "the look's own locks are gone",
    );
  });

  void it('uploads objects above the single-shot size as several committed blocks', async () => {
    const store = await open('blocks');
    const data = randomBytes(9 * 1024 * 1024);
    await store.put('data/aa/big', data);
    const blob = service?.getContainerClient(container).getBlockBlobClient('blocks/data/aa/big');
    const list = await blob?.getBlockList('committed');
    assert.equal(list?.committedBlocks?.length, 3);
    assert.ok((await store.get('data/aa/big')).equals(data));
  });

  void it('writes each object class in its configured access tier', async () => {
    const store = await createAzureBlobStore({
      account: env.AZURE_STORAGE_ACCOUNT ?? '',
      container,
      prefix: 'tiers',
      credential: {
        kind: 'connection-string',
        connectionString: env.AZURE_STORAGE_CONNECTION_STRING ?? '',
      },
      tiers: { data: 'Cool', default: 'Hot' },
    });
    await store.put('data/00/pack', randomBytes(100));
    await store.put('index/00', randomBytes(100));
    const tier = async (name: string) =>
      (await service?.getContainerClient(container).getBlobClient(name).getProperties())
        ?.accessTier;
    assert.equal(await tier('tiers/data/00/pack'), 'Cool');
    assert.equal(await tier('tiers/index/00'), 'Hot');
  });

  void it('fails a delete with a wrong account key as a rejected credential, not as a refused delete', async () => {
    const store = await open('auth');
    await store.put('locks/x', randomBytes(10));
    const wrong = await createAzureBlobStore({
      account: env.AZURE_STORAGE_ACCOUNT ?? '',
      container,
      prefix: 'auth',
      endpoint: env.AZURITE_BLOB_URL,
      credential: { kind: 'shared-key', accountKey: randomBytes(64).toString('base64') },
    });
    // A DeleteForbiddenError here would be swallowed by lock release, leaving the lock behind.
    await assert.rejects(wrong.delete('locks/x'), (error: unknown) => {
      assert.ok(error instanceof StoreError, String(error));
      assert.equal(error.permanent, true);
      assert.equal(error.status, 403);
      assert.match(error.message, /locks\/x.*rejected the credential/);
      return true;
    });
    assert.equal((await store.head('locks/x'))?.size, 10);
  });
});

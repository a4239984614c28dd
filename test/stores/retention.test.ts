/**
 * What the local servers support for object retention, and how the stores report it. Neither
 * Azurite 3.35 nor s3proxy 4.1 (filesystem backend) implements retention: these tests pin that
 * down so a server upgrade that adds it shows up here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { StoreError } from '../../src/errors.ts';
import { createAzureBlobStore, type AzureBlobStoreOptions } from '../../src/stores/azure-blob.ts';
import { createS3Store, type S3StoreOptions } from '../../src/stores/s3.ts';
import type { Store } from '../../src/stores/types.ts';
import { removeAzureContainer, removeS3Bucket, s3Credentials, startService } from './services.ts';

const id = randomBytes(4).toString('hex');
const tomorrow = (): Date => new Date(Date.now() + 86_400_000);
let azurite: Record<string, string> = {};
let s3: Record<string, string> = {};
const opened: Store[] = [];

before(async () => {
  [azurite, s3] = await Promise.all([startService('azurite'), startService('s3')]);
});
after(async () => {
  for (const store of opened) await store.close?.();
  await removeAzureContainer(azurite, `hbr-ret-${id}`);
  await removeS3Bucket(s3, `hbr-lock-${id}`);
  await removeS3Bucket(s3, `hbr-nolock-${id}`);
});

async function azure(extra: Partial<AzureBlobStoreOptions> = {}): Promise<Store> {
  const store = await createAzureBlobStore({
    account: azurite.AZURE_STORAGE_ACCOUNT ?? '',
    container: `hbr-ret-${id}`,
    credential: {
      kind: 'connection-string',
      connectionString: azurite.AZURE_STORAGE_CONNECTION_STRING ?? '',
    },
    ...extra,
  });
  opened.push(store);
  return store;
}

async function bucket(name: string, extra: Partial<S3StoreOptions> = {}): Promise<Store> {
  const store = await createS3Store({
    bucket: name,
    endpoint: s3.HBR_S3_ENDPOINT,
    pathStyle: true,
    credentials: s3Credentials(s3),
    ...extra,
  });
  opened.push(store);
  return store;
}

function permanent(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof StoreError, String(error));
    assert.equal(error.permanent, true);
    assert.match(error.message, pattern);
    return true;
  };
}

void describe('retention on Azurite', () => {
  void it('refuses to report success when Azurite silently drops the immutability policy', async () => {
    const store = await azure({ prefix: 'locked', immutability: 'Unlocked' });
    assert.equal(store.properties.supportsRetention, true);
    await store.put('config', randomBytes(10));
    await assert.rejects(
      store.put('data/00/small', randomBytes(100), { retainUntil: tomorrow() }),
      permanent(/NOT protected/),
    );
    const large = randomBytes(9 * 1024 * 1024);
    await assert.rejects(
      store.put('data/00/large', large, { retainUntil: tomorrow() }),
      permanent(/NOT protected/),
    );
    // The policy really is absent: the object can be deleted.
    await store.delete('data/00/small');
    assert.equal(await store.head('data/00/small'), undefined);
  });

  void it('reports that Azurite cannot set or extend an immutability policy', async () => {
    const store = await azure({ prefix: 'extend', immutability: 'Unlocked' });
    await store.put('data/00/x', randomBytes(10));
    await assert.rejects(
      store.extendRetention?.('data/00/x', tomorrow()) ?? Promise.resolve(),
      permanent(/501.*does not support immutability policies/),
    );
  });

  void it('ignores retainUntil and extendRetention when immutability is not configured', async () => {
    const store = await azure({ prefix: 'plain' });
    assert.equal(store.properties.supportsRetention, false);
    await store.put('data/00/x', randomBytes(10), { retainUntil: tomorrow() });
    await store.extendRetention?.('data/00/x', tomorrow());
    await store.delete('data/00/x');
  });
});

void describe('retention on s3proxy', () => {
  void it('reports that s3proxy has no Object Lock when creating a locked bucket or writing with a retention', async () => {
    const store = await bucket(`hbr-lock-${id}`, { objectLock: 'GOVERNANCE' });
    assert.equal(store.properties.supportsRetention, true);
    await assert.rejects(
      store.put('data/00/x', randomBytes(10), { retainUntil: tomorrow() }),
      permanent(/501.*does not support S3 Object Lock/),
    );
  });

  void it('reports that s3proxy cannot write or extend a retention in an existing bucket', async () => {
    const plain = await bucket(`hbr-nolock-${id}`);
    await plain.put('data/00/x', randomBytes(10));
    const locking = await bucket(`hbr-nolock-${id}`, { objectLock: 'COMPLIANCE' });
    await assert.rejects(
      locking.put('data/00/y', randomBytes(10), { retainUntil: tomorrow() }),
      permanent(/501.*does not support S3 Object Lock/),
    );
    await assert.rejects(
      locking.extendRetention?.('data/00/x', tomorrow()) ?? Promise.resolve(),
      permanent(/501.*does not support S3 Object Lock/),
    );
    // Without a retainUntil the same store writes normally.
    await locking.put('data/00/z', randomBytes(10));
    assert.equal((await locking.head('data/00/z'))?.size, 10);
  });
});

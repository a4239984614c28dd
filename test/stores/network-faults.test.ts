import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InterruptedError, StoreError } from '../../src/errors.ts';
import { createAzureBlobStore } from '../../src/stores/azure-blob.ts';
import { withRetry } from '../../src/stores/retry.ts';
import { createS3Store } from '../../src/stores/s3.ts';
import type { Store } from '../../src/stores/types.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { removeAzureContainer, removeS3Bucket, s3Credentials, startService } from './services.ts';

// Short idle timeouts so that a stall ends the test quickly; the assertions are about what
// fails and what is retried, never about how long it took.
const IDLE_MS = 500;
// Without a working timeout these calls hang; the test limit turns that into a failure.
const LIMIT = { timeout: 60_000 };
const name = `hbr-faults-${randomBytes(4).toString('hex')}`;
let s3env: Record<string, string> = {};
let azenv: Record<string, string> = {};
const proxies: FaultProxy[] = [];
const stores: Store[] = [];

before(async () => {
  [s3env, azenv] = await Promise.all([startService('s3'), startService('azurite')]);
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close?.();
  for (const proxy of proxies.splice(0)) await proxy.close();
});
after(async () => {
  await removeS3Bucket(s3env, name);
  await removeAzureContainer(azenv, name);
});

type Kind = 's3' | 'azure';

/** A store of `kind` that reaches its server through a fresh fault proxy. */
async function open(kind: Kind, prefix: string): Promise<{ store: Store; proxy: FaultProxy }> {
  const proxy = await startFaultProxy(
    kind === 's3' ? (s3env.HBR_S3_ENDPOINT ?? '') : (azenv.AZURITE_BLOB_URL ?? ''),
  );
  proxies.push(proxy);
  const store =
    kind === 's3'
      ? await createS3Store({
          bucket: name,
          prefix,
          endpoint: proxy.url,
          region: s3env.AWS_REGION,
          pathStyle: true,
          credentials: s3Credentials(s3env),
          idleTimeoutMs: IDLE_MS,
        })
      : await createAzureBlobStore({
          account: azenv.AZURE_STORAGE_ACCOUNT ?? '',
          container: name,
          prefix,
          endpoint: `${proxy.url}/${azenv.AZURE_STORAGE_ACCOUNT ?? ''}`,
          credential: { kind: 'shared-key', accountKey: azenv.AZURE_STORAGE_KEY ?? '' },
          idleTimeoutMs: IDLE_MS,
        });
  stores.push(store);
  return { store, proxy };
}

const transient = (error: unknown): boolean => {
  assert.ok(error instanceof StoreError, String(error));
  assert.equal(error.permanent, false, error.message);
  return true;
};

for (const kind of ['s3', 'azure'] as const) {
  void describe(`${kind} store on a bad network`, () => {
    void it('fails a get whose body stops half way with a transient error', LIMIT, async () => {
      const { store, proxy } = await open(kind, 'stall');
      await store.put('data/00/pack', randomBytes(200_000));
      proxy.mode = 'stall';
      await assert.rejects(store.get('data/00/pack'), transient);
      assert.equal(proxy.faults, 1);
    });

    void it('gets the whole object through withRetry after a stalled response', LIMIT, async () => {
      const { store, proxy } = await open(kind, 'stall-retry');
      const data = randomBytes(200_000);
      await store.put('data/00/pack', data);
      proxy.mode = 'stall';
      proxy.times = 1;
      const retried = withRetry(store, { minDelayMs: 10, maxDelayMs: 50 });
      assert.ok((await retried.get('data/00/pack')).equals(data));
      assert.equal(proxy.faults, 1);
    });

    void it('fails a head that gets no answer with a transient error', LIMIT, async () => {
      const { store, proxy } = await open(kind, 'silent');
      proxy.mode = 'silent';
      proxy.match = () => true;
      await assert.rejects(store.head('config'), transient);
    });

    void it(
      'fails a listing whose response stops half way with a transient error',
      LIMIT,
      async () => {
        const { store, proxy } = await open(kind, 'stall-list');
        await store.put('snapshots/a', randomBytes(10));
        proxy.mode = 'stall';
        await assert.rejects(async () => {
          for await (const _ of store.list('snapshots/'));
        }, transient);
      },
    );

    void it(
      'fails a get whose connection resets half way with a transient error',
      LIMIT,
      async () => {
        const { store, proxy } = await open(kind, 'reset');
        await store.put('data/00/pack', randomBytes(200_000));
        proxy.mode = 'reset';
        await assert.rejects(store.get('data/00/pack'), transient);
        assert.equal(proxy.faults, 1);
      },
    );

    void it('reports a get the caller aborts mid-response as cancelled', LIMIT, async () => {
      const { store, proxy } = await open(kind, 'abort');
      await store.put('data/00/pack', randomBytes(200_000));
      proxy.mode = 'stall';
      const controller = new AbortController();
      const retried = withRetry(store, { minDelayMs: 10 });
      const getting = retried.get('data/00/pack', { signal: controller.signal });
      while (proxy.faults === 0) await sleep(10);
      controller.abort();
      await assert.rejects(getting, InterruptedError);
    });

    void it(
      'lists every key through withRetry after a listing cut off half way',
      LIMIT,
      async () => {
        const { store, proxy } = await open(kind, 'reset-list');
        const keys = Array.from(
          { length: 20 },
          (_, i) => `snapshots/${String(i).padStart(64, '0')}`,
        );
        for (const key of keys) await store.put(key, randomBytes(10));
        proxy.mode = 'reset';
        proxy.times = 1;
        const listed: string[] = [];
        for await (const { key } of withRetry(store, { minDelayMs: 10 }).list('snapshots/')) {
          listed.push(key);
        }
        assert.deepEqual(listed.sort(), keys);
        assert.equal(proxy.faults, 1);
      },
    );
  });
}

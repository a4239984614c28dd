import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { InterruptedError, StoreError } from '../../src/errors.ts';
import { createAzureBlobStore } from '../../src/stores/azure-blob.ts';
import { withRetry, type RetryEvent } from '../../src/stores/retry.ts';
import type { Store } from '../../src/stores/types.ts';
import { serviceCommand, startService } from './services.ts';

// A private Azurite instance: these tests kill it, which must not disturb other test files.
const INSTANCE = 'retry-test';
let env: Record<string, string> = {};

before(async () => {
  env = await startService('azurite', INSTANCE);
});
after(async () => {
  await serviceCommand('azurite', 'clean', INSTANCE);
});

/** A store that counts the calls reaching the real store beneath the retry wrapper. */
function counted(store: Store): { store: Store; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const count = (op: string): void => void (calls[op] = (calls[op] ?? 0) + 1);
  return {
    calls,
    store: {
      ...store,
      get: (key, opts) => (count('get'), store.get(key, opts)),
      put: (key, data, opts) => (count('put'), store.put(key, data, opts)),
      head: (key, opts) => (count('head'), store.head(key, opts)),
    },
  };
}

async function azure(prefix: string): Promise<Store> {
  return createAzureBlobStore({
    account: env.AZURE_STORAGE_ACCOUNT ?? '',
    container: 'retry',
    prefix,
    credential: {
      kind: 'connection-string',
      connectionString: env.AZURE_STORAGE_CONNECTION_STRING ?? '',
    },
    idleTimeoutMs: 5000,
  });
}

void describe('retry wrapper', () => {
  void it('retries a put while the store is down and succeeds once it is back', async () => {
    const { store: inner, calls } = counted(await azure('outage'));
    const events: RetryEvent[] = [];
    const store = withRetry(inner, {
      retries: 100,
      minDelayMs: 50,
      maxDelayMs: 300,
      onRetry: (e) => events.push(e),
    });
    await store.put('data/00/before', randomBytes(100));

    await serviceCommand('azurite', 'kill', INSTANCE);
    const data = randomBytes(64 * 1024);
    const putting = store.put('data/00/during', data);
    // Restart only after the put has failed at least twice against the dead store.
    while (events.length < 2) await sleep(20);
    await startService('azurite', INSTANCE);
    await putting;

    assert.ok((calls.put ?? 0) >= 4, `put reached the store ${calls.put} times`);
    assert.ok(
      events.every(
        (e) => e.op === 'put' && e.key === 'data/00/during' && e.error instanceof StoreError,
      ),
    );
    assert.deepEqual(await store.get('data/00/during'), data);
  });

  void it('does not retry a permanent error', async () => {
    const { store: inner, calls } = counted(await azure('permanent'));
    const events: RetryEvent[] = [];
    const store = withRetry(inner, { retries: 5, minDelayMs: 10, onRetry: (e) => events.push(e) });
    await assert.rejects(
      store.get('snapshots/missing'),
      (error: unknown) => error instanceof StoreError && error.status === 404,
    );
    assert.equal(calls.get, 1);
    assert.equal(events.length, 0);
  });

  void it('stops retrying at once when the caller cancels', async () => {
    const store = withRetry(await azure('cancel'), { retries: 100, minDelayMs: 60_000 });
    await serviceCommand('azurite', 'kill', INSTANCE);
    try {
      const controller = new AbortController();
      const putting = store.put('index/y', randomBytes(10), { signal: controller.signal });
      // The first attempt fails at once against the dead port; the wrapper then waits a minute.
      setTimeout(() => controller.abort(), 200);
      await assert.rejects(
        putting,
        (error: unknown) =>
          error instanceof InterruptedError && /put index\/y: cancelled/.test(error.message),
      );
    } finally {
      await startService('azurite', INSTANCE);
    }
  });

  void it('gives up after its retries with the transient error naming the store and key', async () => {
    const { store: inner, calls } = counted(await azure('give-up'));
    const store = withRetry(inner, { retries: 2, minDelayMs: 10, maxDelayMs: 20 });
    await serviceCommand('azurite', 'kill', INSTANCE);
    try {
      await assert.rejects(store.put('index/x', randomBytes(10)), (error: unknown) => {
        assert.ok(error instanceof StoreError, String(error));
        assert.equal(error.permanent, false);
        assert.match(
          error.message,
          /\[store:azure:devstoreaccount1\/retry\/give-up\] put index\/x/,
        );
        return true;
      });
      assert.equal(calls.put, 3);
    } finally {
      await startService('azurite', INSTANCE);
    }
  });
});

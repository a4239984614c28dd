import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withLimit } from './limit.ts';
import { createLocalStore } from './local.ts';
import type { Store } from './types.ts';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'hbr-limit-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Wraps a store to record the most requests it ever had in flight at once. */
function observed(store: Store): { store: Store; peak: () => number } {
  let inFlight = 0;
  let peak = 0;
  const track = async <T>(run: () => Promise<T>): Promise<T> => {
    peak = Math.max(peak, ++inFlight);
    try {
      // Yield so that concurrent callers overlap even on a fast disk.
      await new Promise((resolve) => setImmediate(resolve));
      return await run();
    } finally {
      inFlight--;
    }
  };
  return {
    peak: () => peak,
    store: {
      ...store,
      put: (k, d, o) => track(() => store.put(k, d, o)),
      get: (k, o) => track(() => store.get(k, o)),
    },
  };
}

void describe('withLimit', () => {
  void it('never runs more requests at once than its connection count', async () => {
    const { store, peak } = observed(createLocalStore({ path: root }));
    const limited = withLimit(store, 3);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => limited.put(`data/${i}`, Buffer.from(String(i)))),
    );
    const bodies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => limited.get(`data/${i}`)),
    );
    assert.deepEqual(
      bodies.map(String),
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
    assert.equal(peak(), 3);
    assert.equal(limited.properties.connections, 3);
  });

  void it('defaults to the connection count the store declares', async () => {
    const local = createLocalStore({ path: root });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => local.put(`index/${i}`, Buffer.from('x'))),
    );
    const { store, peak } = observed(local);
    const limited = withLimit(store);
    await Promise.all(Array.from({ length: 20 }, (_, i) => limited.get(`index/${i}`)));
    assert.equal(peak(), local.properties.connections);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/temp.ts';
import { createLocalStore } from './local.ts';
import { withRetention } from './retention.ts';
import type { PutOptions, Store } from './types.ts';

/** A real local store that claims retention support and records what it was asked to retain. */
function recording(base: Store): { store: Store; puts: { key: string; retainUntil?: Date }[] } {
  const puts: { key: string; retainUntil?: Date }[] = [];
  return {
    puts,
    store: {
      ...base,
      properties: { ...base.properties, supportsRetention: true },
      put(key: string, data: Uint8Array, options: PutOptions = {}) {
        puts.push({ key, ...(options.retainUntil ? { retainUntil: options.retainUntil } : {}) });
        return base.put(key, data, options);
      },
    },
  };
}

describe('withRetention', () => {
  it('sets retain-until on every object but locks, where the store supports retention', async () => {
    const dir = await tempDir();
    try {
      const { store, puts } = recording(createLocalStore({ path: dir.path }));
      const until = new Date('2030-01-01T00:00:00Z');
      const retained = withRetention(store, () => until);
      await retained.put('data/ab/abc', Buffer.from('pack'));
      await retained.put('snapshots/def', Buffer.from('manifest'));
      await retained.put('locks/123', Buffer.from('lock'));
      assert.deepEqual(puts, [
        { key: 'data/ab/abc', retainUntil: until },
        { key: 'snapshots/def', retainUntil: until },
        { key: 'locks/123' },
      ]);
      assert.equal((await retained.get('data/ab/abc')).toString(), 'pack');
    } finally {
      await dir.remove();
    }
  });

  it('leaves a store without retention support as it is', async () => {
    const dir = await tempDir();
    try {
      const plain = createLocalStore({ path: dir.path });
      assert.equal(
        withRetention(plain, () => new Date()),
        plain,
      );
    } finally {
      await dir.remove();
    }
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLocalStore } from '../stores/local.ts';
import { createBlobSaver } from './blob-saver.ts';
import type { RingChunk } from './codec-pool.ts';
import { deriveKeys } from './crypto.ts';
import { createMasterIndex } from './master-index.ts';

describe('blob saver', () => {
  it('copies a ring chunk out before it reports an earlier failure: the cut never waits for it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hbr-blob-saver-'));
    try {
      const store = createLocalStore({ path: dir });
      // The disk fills: no pack can be written.
      store.createWriter = () => Promise.reject(new Error('disk full'));
      const saver = createBlobSaver({
        store,
        keys: deriveKeys(randomBytes(64)),
        index: createMasterIndex(),
        packSize: 1024 * 1024,
        compression: { level: 1 },
      });
      await assert.rejects(saver.save('data', randomBytes(256 * 1024)), /disk full/);
      await assert.rejects(saver.flush(), /disk full/);
      // A chunk of a file read once into a cut's ring, lying across the ring's end.
      const memory = new SharedArrayBuffer(512 * 1024);
      const taken: string[] = [];
      const chunk: RingChunk = {
        length: 200 * 1024,
        take: () => {
          taken.push('taken');
          return {
            place: { memory, size: memory.byteLength, at: 400 * 1024 },
            done: () => taken.push('done'),
          };
        },
      };
      await assert.rejects(saver.saveRingChunk(chunk), /disk full/);
      assert.deepEqual(taken, ['taken', 'done']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

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

  it('gives every blob its memory back when an upload fails while blobs wait for room', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hbr-blob-saver-'));
    try {
      const store = createLocalStore({ path: dir });
      const keys = deriveKeys(randomBytes(64));
      // Packs gathered in memory and put whole; every put fails, a moment after it starts.
      const failing = Object.assign(Object.create(store) as typeof store, {
        createWriter: undefined,
        put: () =>
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error('upload failed')), 50),
          ),
      });
      const saver = (target: typeof store) =>
        createBlobSaver({
          store: target,
          keys,
          index: createMasterIndex(),
          packSize: 1024 * 1024,
          compression: { level: 1 },
        });
      // Three blobs a pack: most of these wait, encoded in the codec pool's memory, for a pack
      // to be sealed and uploaded when the upload fails. More than the pool's slots.
      const doomed = saver(failing);
      const saves = await Promise.allSettled(
        Array.from({ length: 40 }, () => doomed.save('data', randomBytes(300 * 1024))),
      );
      assert.ok(saves.some((s) => s.status === 'rejected'));
      await assert.rejects(doomed.flush(), /upload failed/);
      // Had they kept their slots, these would wait for one forever.
      const next = saver(store);
      const ids = await Promise.all(
        Array.from({ length: 40 }, () => next.save('data', randomBytes(300 * 1024))),
      );
      await next.flush();
      assert.equal(new Set(ids.map((id) => id.toString('hex'))).size, 40);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never answers with the id of a blob it failed to store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hbr-blob-saver-'));
    try {
      const index = createMasterIndex();
      const saver = createBlobSaver({
        store: createLocalStore({ path: dir }),
        keys: deriveKeys(randomBytes(64)),
        index,
        packSize: 1024 * 1024,
        // Compressible bytes at a level zstd refuses: the encoding fails on the codec worker.
        compression: { level: 99 },
      });
      const bytes = Buffer.alloc(300 * 1024, 'hbr ');
      // The same bytes twice at once (two files of one content): whichever is hashed first is
      // encoded, and fails; the other may be answered with its id meanwhile. Then once more.
      const both = await Promise.allSettled([saver.save('data', bytes), saver.save('data', bytes)]);
      const failed = both.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.ok(failed.length > 0);
      for (const f of failed) assert.match(String(f.reason), /compression level/);
      await assert.rejects(saver.save('data', bytes), /compression level/);
      // An id answered while the blob was being encoded must not be recorded: the session fails
      // as a whole.
      await assert.rejects(saver.flush(), /compression level/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

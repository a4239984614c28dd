import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../../test/helpers/temp.ts';
import { createLocalStore } from '../stores/local.ts';
import { planBatches, restoreBatch, type BatchBlob } from './blob-batch.ts';
import { createBlobSaver } from './blob-saver.ts';
import { createMasterIndex } from './master-index.ts';
import { initRepository, openRepository } from './repository.ts';

const password = { kind: 'password', password: 'pw' } as const;

const blob = (packId: string, offset: number, length: number): BatchBlob => ({
  id: Buffer.from([offset & 0xff]),
  where: { packId, type: 'data', offset, length, rawLength: length },
});

describe('planBatches', () => {
  it('groups blobs of one pack in offset order, each group within the span', () => {
    const batches = planBatches(
      [blob('b', 0, 10), blob('a', 50, 10), blob('a', 0, 10), blob('a', 10, 30), blob('a', 90, 5)],
      60,
    );
    const shape = batches.map((b) => b.map((x) => `${x.where.packId}@${x.where.offset}`));
    assert.deepEqual(shape, [['a@0', 'a@10', 'a@50'], ['a@90'], ['b@0']]);
  });

  it('gives a blob larger than the span a batch of its own', () => {
    const batches = planBatches([blob('a', 0, 5), blob('a', 5, 500), blob('a', 505, 5)], 100);
    assert.deepEqual(
      batches.map((b) => b.length),
      [1, 1, 1],
    );
  });
});

describe('restoreBatch', () => {
  it('hands nothing over once aborted while it waited to, and writes no file', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const repo = await initRepository(
      createLocalStore({ path: join(dir.path, 'repo') }),
      password,
      {
        scryptParams: { N: 1024, r: 8, p: 1 },
      },
    );
    const saver = createBlobSaver({
      store: repo.store,
      keys: repo.keys,
      index: createMasterIndex(),
      packSize: 1024 * 1024,
      compression: { level: 1 },
    });
    const contents = [Buffer.from('first file'), Buffer.from('second file')];
    const ids = [];
    for (const content of contents) ids.push(await saver.save('data', content));
    await saver.flush();
    const index = await (await openRepository(repo.store, password)).index();
    const batch = ids.map((id) => ({ id, where: index.get(id)! }));
    const files = contents.map((_, i) => {
      const path = join(dir.path, `f${i}`);
      return [{ path, temp: `${path}.tmp`, mode: 0o644, time: '1700000000', what: `f${i}` }];
    });
    const restore = (decode?: <T>(handOver: () => Promise<T>) => Promise<T>) => {
      const abort = new AbortController();
      return restoreBatch(repo, planBatches(batch, 1024 * 1024)[0] ?? [], files, {
        signal: abort.signal,
        ...(decode ? { decode: (handOver) => (abort.abort(), decode(handOver)) } : {}),
      });
    };
    // Aborted at the gate: every file fails, none is written.
    const results = await restore((handOver) => handOver());
    assert.equal(results.flat().length, 2);
    for (const result of results.flat()) assert.ok(result instanceof Error, JSON.stringify(result));
    assert.deepEqual(await readdir(dir.path), ['repo']);
    // Not aborted: both written.
    assert.deepEqual((await restore()).flat(), [undefined, undefined]);
    assert.equal(await readFile(join(dir.path, 'f1'), 'utf8'), 'second file');
  });
});

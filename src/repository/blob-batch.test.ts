import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planBatches, type BatchBlob } from './blob-batch.ts';

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

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { skippingZeroBlocks } from './sparse-writer.ts';

describe('writing with zero blocks left out', () => {
  it('writes every byte that is not zero where it belongs, and no whole block of zeros', async () => {
    // Pieces of data and zeros, cut at places that are no block boundaries (as blobs are).
    const content = Buffer.alloc(64 * 1024);
    content.fill(7, 100, 5000);
    content.fill(9, 20_000, 20_001);
    content.fill(5, 65_000);
    const file = Buffer.alloc(content.length);
    const writes: [number, number][] = [];
    const out = skippingZeroBlocks({
      write(buffer: Buffer, offset: number, length: number, position: number) {
        buffer.copy(file, position, offset, offset + length);
        writes.push([position, length]);
        return Promise.resolve();
      },
    });
    for (const [start, end] of [
      [0, 3000],
      [3000, 17_000],
      [17_000, 40_001],
      [40_001, content.length],
    ] as const) {
      const piece = Buffer.concat([Buffer.from('junk'), content.subarray(start, end)]);
      await out.write(piece, 4, end - start, start);
    }
    assert.deepEqual(file, content);
    for (const [position, length] of writes) {
      for (let block = Math.floor(position / 4096) * 4096; block < position + length; block += 4096)
        assert.ok(
          content.subarray(block, block + 4096).some((byte) => byte !== 0),
          `the zero block at ${block} was written`,
        );
    }
    // Runs of whole blocks that are not zero (their zeros too), within each piece; a piece of a
    // block that is all zeros (16,384-17,000) left out as well.
    assert.deepEqual(writes, [
      [0, 3000],
      [3000, 5192],
      [17_000, 3480],
      [61_440, 4096],
    ]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IntegrityError } from '../errors.ts';
import { compress, decompress, decompressEach, worthCompressing } from './compression.ts';
import { pseudoRandomBytes, textLikeBytes } from './testdata/inputs.ts';

/**
 * A hand-made zstd frame: single segment, 4-byte declared content size, one RLE block that
 * repeats `byte` `size` times (size <= 128 KiB). 13 bytes that decode to `size` bytes.
 */
function rleFrame(size: number, byte: number): Buffer {
  const frame = Buffer.alloc(13);
  frame.writeUInt32LE(0xfd2fb528, 0);
  frame[4] = 0xa0; // content size in 4 bytes, single segment
  frame.writeUInt32LE(size, 5);
  frame.writeUIntLE((size << 3) | (1 << 1) | 1, 9, 3); // last block, RLE, `size` bytes
  frame[12] = byte;
  return frame;
}

void describe('compression', () => {
  const text = textLikeBytes(1, 300_000);

  void it('round-trips text, random and empty data at several levels', async () => {
    const big = Buffer.concat([textLikeBytes(4, 3 << 20), pseudoRandomBytes(5, 3 << 20)]);
    for (const data of [text, pseudoRandomBytes(2, 100_000), Buffer.alloc(0), big]) {
      for (const level of [-1, 1, 3, 9]) {
        const packed = await compress(data, level);
        assert.deepEqual(await decompress(packed, data.length), data);
      }
    }
  });

  void it('accepts plain Uint8Array input', async () => {
    const view = new Uint8Array(text.buffer, text.byteOffset + 10, 5000);
    const packed = await compress(view, 3);
    assert.deepEqual(new Uint8Array(await decompress(new Uint8Array(packed), 5000)), view);
  });

  void it('compresses text well and honours the level', async () => {
    const fast = await compress(text, 1);
    const strong = await compress(text, 19);
    assert.ok(fast.length < text.length / 3, `level 1 gave ${fast.length} bytes`);
    assert.ok(strong.length < fast.length, `level 19 ${strong.length} vs level 1 ${fast.length}`);
  });

  void it('rejects corrupted, truncated, extended and foreign input', async () => {
    const packed = await compress(text, 3);
    const flipped = Buffer.from(packed);
    for (let i = 20; i < flipped.length; i += 97) flipped[i]! ^= 0x5a;
    const cases = [
      flipped,
      packed.subarray(0, packed.length >> 1),
      packed.subarray(0, packed.length - 1),
      Buffer.concat([packed, Buffer.from([0])]),
      Buffer.from('not zstd at all'),
    ];
    for (const bad of cases) {
      await assert.rejects(decompress(bad, text.length), IntegrityError);
    }
  });

  void it('refuses output larger than maxSize', async () => {
    const packed = await compress(text, 3);
    await assert.rejects(decompress(packed, text.length - 1), IntegrityError);
    assert.equal((await decompress(packed, text.length)).length, text.length);
  });

  void it('refuses a frame that declares too large a size before decoding it', async () => {
    const frame = rleFrame(100_000, 7);
    await assert.rejects(decompress(frame, 99_999), /declares 100000 bytes/);
    assert.deepEqual(await decompress(frame, 100_000), Buffer.alloc(100_000, 7));
  });

  void it('decompresses several frames in one call, each to its own output', async () => {
    const inputs = [textLikeBytes(31, 70_000), Buffer.alloc(0), textLikeBytes(32, 9), text];
    const frames = [...(await Promise.all(inputs.map((i) => compress(i, 3)))), rleFrame(5000, 9)];
    const outputs = await decompressEach(frames, [...inputs.map((i) => i.length), 5000]);
    assert.deepEqual(outputs, [...inputs, Buffer.alloc(5000, 9)]);
    assert.deepEqual(await decompressEach([frames[0]!], [70_000]), [inputs[0]]);
  });

  void it('refuses frames whose outputs differ from their sizes in total, or a bad frame among them', async () => {
    const frames = await Promise.all([compress(text, 3), compress(textLikeBytes(33, 5000), 3)]);
    await assert.rejects(decompressEach(frames, [text.length, 4999]), /5000 expected|4999|limit/);
    await assert.rejects(decompressEach(frames, [text.length, 5001]), IntegrityError);
    const truncated = frames[1].subarray(0, frames[1].length - 1);
    await assert.rejects(
      decompressEach([frames[0], truncated], [text.length, 5000]),
      IntegrityError,
    );
    await assert.rejects(
      decompressEach([frames[0], rleFrame(100_000, 7)], [text.length, 99_999]),
      /declares 100000 bytes/,
    );
  });

  void it('rejects invalid levels', async () => {
    for (const level of [1.5, 23, Number.NaN]) {
      await assert.rejects(compress(text, level), RangeError);
    }
  });

  void it('judges text worth compressing and random bytes not', async () => {
    assert.equal(await worthCompressing(text), true);
    assert.equal(await worthCompressing(pseudoRandomBytes(3, 1 << 20)), false);
    assert.equal(await worthCompressing(Buffer.alloc(10)), false);
  });

  void it('judges a chunk that turns into zeros after its start worth compressing', async () => {
    const chunk = pseudoRandomBytes(6, 1 << 20).fill(0, 400_000);
    assert.equal(await worthCompressing(chunk), true);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IntegrityError } from '../errors.ts';
import {
  compress,
  compressBound,
  compressInto,
  compressLaneInto,
  compressionSample,
  decompress,
  decompressInto,
  worthCompressing,
  zstdBackend,
} from './compression.ts';
import { float32Bytes, pseudoRandomBytes, textLikeBytes } from './testdata/inputs.ts';

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

/** {@link rleFrame} without a declared content size: only decoding finds out how long it is. */
function undeclaredRleFrame(size: number, byte: number): Buffer {
  const frame = Buffer.alloc(10);
  frame.writeUInt32LE(0xfd2fb528, 0);
  frame[4] = 0x00; // no content size, a window descriptor follows
  frame[5] = 7 << 3; // window of 2^(10+7) bytes: 128 KiB
  frame.writeUIntLE((size << 3) | (1 << 1) | 1, 6, 3);
  frame[9] = byte;
  return frame;
}

void describe('compression', () => {
  const text = textLikeBytes(1, 300_000);

  void it('round-trips text, random and empty data at several levels', () => {
    const big = Buffer.concat([textLikeBytes(4, 3 << 20), pseudoRandomBytes(5, 3 << 20)]);
    for (const data of [text, pseudoRandomBytes(2, 100_000), Buffer.alloc(0), big]) {
      for (const level of [-1, 1, 3, 9]) {
        const packed = compress(data, level);
        assert.deepEqual(decompress(packed, data.length), data);
      }
    }
  });

  void it('accepts plain Uint8Array input', () => {
    const view = new Uint8Array(text.buffer, text.byteOffset + 10, 5000);
    const packed = compress(view, 3);
    assert.deepEqual(new Uint8Array(decompress(new Uint8Array(packed), 5000)), view);
  });

  void it('compresses text well and honours the level', () => {
    const fast = compress(text, 1);
    const strong = compress(text, 19);
    assert.ok(fast.length < text.length / 3, `level 1 gave ${fast.length} bytes`);
    assert.ok(strong.length < fast.length, `level 19 ${strong.length} vs level 1 ${fast.length}`);
  });

  void it('rejects corrupted, truncated, extended and foreign input', () => {
    const packed = compress(text, 3);
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
      assert.throws(() => decompress(bad, text.length), IntegrityError);
    }
  });

  void it('refuses output larger than maxSize', () => {
    const packed = compress(text, 3);
    assert.throws(() => decompress(packed, text.length - 1), IntegrityError);
    assert.equal(decompress(packed, text.length).length, text.length);
  });

  void it('refuses a frame that declares too large a size before decoding it', () => {
    const frame = rleFrame(100_000, 7);
    assert.throws(() => decompress(frame, 99_999), /declares 100000 bytes/);
    assert.deepEqual(decompress(frame, 100_000), Buffer.alloc(100_000, 7));
  });

  void it('decodes a frame that declares no size only as far as the room given', () => {
    const frame = undeclaredRleFrame(100_000, 3);
    assert.throws(() => decompress(frame, 99_999), /over the limit 99999/);
    assert.deepEqual(decompress(frame, 100_000), Buffer.alloc(100_000, 3));
  });

  void it('compresses into and decompresses into the memory given', () => {
    const out = Buffer.alloc(compressBound(text.length));
    const length = compressInto(text, 3, out);
    assert.ok(length > 0 && length < text.length / 3);
    const back = Buffer.alloc(text.length + 10);
    assert.equal(decompressInto(out.subarray(0, length), back), text.length);
    assert.deepEqual(back.subarray(0, text.length), text);
    assert.throws(
      () => compressInto(text, 3, Buffer.alloc(compressBound(text.length) - 1)),
      RangeError,
    );
    // Random bytes do not shrink: the bound holds for them.
    const random = pseudoRandomBytes(8, 200_000);
    const frame = Buffer.alloc(compressBound(random.length));
    assert.deepEqual(
      decompress(frame.subarray(0, compressInto(random, 1, frame)), 200_000),
      random,
    );
  });

  void it('uses libzstd through zstd-napi, built at install', () => {
    assert.equal(zstdBackend(), 'zstd-napi');
  });

  void it('rejects invalid levels', () => {
    for (const level of [1.5, 23, Number.NaN]) {
      assert.throws(() => compress(text, level), RangeError);
    }
  });

  void it('judges text worth compressing and random bytes not', () => {
    assert.equal(worthCompressing(text), true);
    assert.equal(worthCompressing(pseudoRandomBytes(3, 1 << 20)), false);
    assert.equal(worthCompressing(Buffer.alloc(10)), false);
  });

  void it('judges a chunk that turns into zeros after its start worth compressing', () => {
    const chunk = pseudoRandomBytes(6, 1 << 20).fill(0, 400_000);
    assert.equal(worthCompressing(chunk), true);
  });

  void it('samples a large chunk in four slices that start at multiples of 4 bytes', () => {
    const chunk = pseudoRandomBytes(8, 1_000_003);
    const sample = compressionSample(chunk);
    assert.equal(sample.length, 64 * 1024);
    const part = 16 * 1024;
    const step = (chunk.length - part) / 3;
    for (let i = 0; i < 4; i++) {
      const at = Math.floor(i * step) & ~3;
      assert.equal(at % 4, 0);
      assert.ok(
        Buffer.from(sample.subarray(i * part, (i + 1) * part)).equals(
          chunk.subarray(at, at + part),
        ),
      );
    }
    assert.equal(compressionSample(text.subarray(0, 1000)).length, 1000);
  });

  void it('compresses a lane of exponents tighter than level 1 does, into a frame any reader takes', () => {
    const weights = float32Bytes(9, 256 * 1024);
    const exponents = Buffer.from(weights.filter((_, i) => i % 4 === 3));
    const out = Buffer.alloc(compressBound(exponents.length));
    const lane = compressLaneInto(exponents, out);
    const level1 = compressInto(exponents, 1, Buffer.alloc(compressBound(exponents.length)));
    assert.ok(lane < level1 * 0.95, `${lane} bytes against ${level1} at level 1`);
    assert.ok(decompress(out.subarray(0, lane), exponents.length).equals(exponents));
    // Any bytes read back (text here), random ones stored no smaller; too little room refused.
    const textOut = Buffer.alloc(compressBound(text.length));
    const textSize = compressLaneInto(text, textOut);
    assert.ok(decompress(textOut.subarray(0, textSize), text.length).equals(text));
    assert.throws(() => compressLaneInto(text, Buffer.alloc(10)), RangeError);
    const random = pseudoRandomBytes(10, 100_000);
    const size = compressLaneInto(random, out);
    assert.ok(size >= random.length);
    assert.ok(decompress(out.subarray(0, size), random.length).equals(random));
  });
});

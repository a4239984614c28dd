import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ALL_LANES,
  compressLanes,
  decompressLanes,
  joinLanes,
  laneLength,
  lanesBound,
  sampleLanes,
  splitLanes,
} from './byte-lanes.ts';
import { compressionSample } from './compression.ts';
import { float32Bytes, pseudoRandomBytes, textLikeBytes } from './testdata/inputs.ts';

/** Lane k of `data` by the definition: bytes k, k+4, k+8, … */
function lanesByDefinition(data: Uint8Array): Buffer[] {
  return [0, 1, 2, 3].map((k) => Buffer.from(data.filter((_, i) => i % 4 === k)));
}

/** `length` bytes at `offset` into fresh memory (plain or shared), filled from `data`. */
function placed(data: Uint8Array, offset: number, shared = false): Buffer {
  const memory = shared ? new SharedArrayBuffer(data.length + 8) : new ArrayBuffer(data.length + 8);
  const view = Buffer.from(memory, offset, data.length);
  view.set(data);
  return view;
}

describe('byte lanes', () => {
  it('splits a blob into its lanes and joins them back, whatever lies where', () => {
    // Lengths around the SIMD groups (64 bytes) and blocks (64 KiB); the bytes after the last
    // whole group go one by one.
    const lengths = [
      0,
      1,
      3,
      4,
      5,
      15,
      16,
      17,
      33,
      63,
      64,
      65,
      1000,
      64 * 1024 - 1,
      64 * 1024,
      64 * 1024 + 19,
      64 * 1024 + 64,
      200_003,
    ];
    for (const length of lengths) {
      const data = pseudoRandomBytes(length, length);
      const expected = lanesByDefinition(data);
      assert.deepEqual(
        expected.map((lane) => lane.length),
        [0, 1, 2, 3].map((k) => laneLength(length, k)),
      );
      // Where the blob, its lanes and the joined copy start, modulo 4; in shared memory or not.
      for (const [from, to, back, shared] of [
        [0, 0, 0, false],
        [1, 0, 3, false],
        [3, 0, 1, true],
        [0, 2, 0, false],
        [2, 1, 2, true],
      ] as const) {
        const where = `${length} bytes, ${from} ${to} ${back}`;
        const source = placed(data, from, shared);
        const lanes = expected.map((lane) => placed(Buffer.alloc(lane.length), to, shared));
        splitLanes(source, lanes);
        assert.deepEqual(
          lanes.map((lane) => Buffer.from(lane)),
          expected,
          where,
        );
        const joined = placed(Buffer.alloc(length), back, shared);
        joinLanes(lanes, joined);
        assert.ok(joined.equals(data), `joined: ${where}`);
      }
    }
  });

  it('refuses lanes of the wrong lengths', () => {
    const lanes = [3, 2, 2, 2].map((n) => Buffer.alloc(n));
    assert.throws(() => splitLanes(Buffer.alloc(10), lanes), /lanes of the wrong lengths/);
    assert.throws(() => joinLanes(lanes, Buffer.alloc(11)), /lanes of the wrong lengths/);
  });

  it('compresses the lanes that shrink, stores the others, and reads them back', () => {
    const cases = {
      // The exponents' lane shrinks, the mantissas' are stored: 0.84 of the size (whole: 0.93).
      'float32 weights': { data: float32Bytes(1, 256 * 1024), atMost: 0.86, compressed: 1 },
      // The same weights one byte further on: the exponents in another lane.
      'float32 weights, shifted': {
        data: float32Bytes(2, 256 * 1024).subarray(1),
        atMost: 0.86,
        compressed: 1,
      },
      'random bytes': { data: pseudoRandomBytes(3, 300_000), atMost: 1.0001, compressed: 0 },
      text: { data: textLikeBytes(4, 300_000), atMost: 0.8, compressed: 4 },
      zeros: { data: Buffer.alloc(100_001), atMost: 0.01, compressed: 4 },
      'five bytes': { data: Buffer.from('abcde'), atMost: 5, compressed: 0 },
      empty: { data: Buffer.alloc(0), atMost: 1, compressed: 0 },
    };
    for (const [name, { data, atMost, compressed }] of Object.entries(cases)) {
      const out = Buffer.alloc(lanesBound(data.length));
      const size = compressLanes(data, out);
      const payload = Buffer.from(out.subarray(0, size));
      assert.ok(size <= 16 + Math.max(data.length * atMost, 3 * 3), `${name}: ${size} bytes`);
      const flags = [0, 1, 2, 3].map((k) => payload.readUInt32LE(4 * k) >>> 31);
      assert.equal(
        flags.reduce((a, b) => a + b, 0),
        compressed,
        `${name}: lanes compressed`,
      );
      // The same data makes the same payload (the padding between lanes is zeros).
      out.fill(0xee);
      assert.equal(compressLanes(data, out), size);
      assert.ok(out.subarray(0, size).equals(payload), `${name}: deterministic`);
      const back = Buffer.alloc(data.length + 7, 0xaa);
      assert.equal(decompressLanes(payload, data.length, back), data.length);
      assert.ok(back.subarray(0, data.length).equals(data), `${name}: read back`);
      assert.ok(
        back.subarray(data.length).every((b) => b === 0xaa),
        `${name}: nothing past it`,
      );
    }
  });

  it('tries only the lanes it is told to, and a sample tells which shrink', () => {
    /** Which lanes a payload holds compressed (bit k for lane k). */
    const compressedIn = (payload: Buffer): number =>
      [0, 1, 2, 3].reduce((mask, k) => mask | ((payload.readUInt32LE(4 * k) >>> 31) << k), 0);
    const encode = (data: Uint8Array, tried?: number): Buffer => {
      const out = Buffer.alloc(lanesBound(data.length));
      return Buffer.from(out.subarray(0, compressLanes(data, out, tried)));
    };
    // Lanes of four kinds: random, text, constant, float32 exponents (a weight's top byte).
    const length = 300_000;
    const kinds = [
      pseudoRandomBytes(5, length / 4),
      textLikeBytes(6, length / 4),
      Buffer.alloc(length / 4, 7),
      Buffer.from(float32Bytes(8, length / 4).filter((_, i) => i % 4 === 3)),
    ];
    const data = Buffer.alloc(length);
    joinLanes(kinds, data);
    const all = encode(data);
    assert.equal(compressedIn(all), 0b1110);
    for (const tried of [0, 0b0001, 0b0100, 0b1010, 0b1110, ALL_LANES]) {
      const payload = encode(data, tried);
      assert.equal(compressedIn(payload), tried & 0b1110, `tried ${tried.toString(2)}`);
      const back = Buffer.alloc(length);
      assert.equal(decompressLanes(payload, length, back), length);
      assert.ok(back.equals(data), `tried ${tried.toString(2)}: read back`);
    }
    assert.equal(encode(data, 0).length, 16 + length);

    // The sample of a blob tells the lanes that shrink in it: here all but the random one, so
    // trying those alone makes the payload of trying all.
    const { ratio, tried } = sampleLanes(compressionSample(data));
    assert.equal(tried, 0b1110);
    assert.ok(ratio > 0.25 && ratio < 0.75, `sample ratio ${ratio}`);
    assert.ok(encode(data, tried).equals(all));
    // Float32 weights: only the exponents' lane, wherever it lies.
    for (const shift of [0, 1, 2, 3]) {
      const weights = float32Bytes(9, 256 * 1024).subarray(shift);
      const sampled = sampleLanes(compressionSample(weights)).tried;
      assert.equal(sampled, 1 << ((3 - shift + 4) % 4), `shift ${shift}`);
      assert.ok(encode(weights, sampled).equals(encode(weights)), `shift ${shift}: same payload`);
    }
  });

  it('refuses a payload that is not the lanes of the length asked for', () => {
    const data = float32Bytes(5, 64 * 1024);
    const out = Buffer.alloc(lanesBound(data.length));
    const payload = Buffer.from(out.subarray(0, compressLanes(data, out)));
    const back = Buffer.alloc(data.length + 8);
    const read = (p: Buffer, length = data.length) => decompressLanes(p, length, back);
    assert.throws(
      () => read(payload.subarray(0, 10)),
      /IntegrityError: \[lanes\] payload too short/,
    );
    assert.throws(() => read(payload.subarray(0, payload.length - 1)), /IntegrityError/);
    assert.throws(() => read(Buffer.concat([payload, Buffer.alloc(4)])), /trailing bytes/);
    // One byte longer: the stored lanes no longer have their lengths, the frame decodes short.
    assert.throws(() => read(payload, data.length + 1), /IntegrityError/);
    assert.throws(() => read(payload, data.length - 1), /IntegrityError/);
    // A stored lane's length that runs past the payload.
    const long = Buffer.from(payload);
    const raw = [0, 1, 2, 3].find((k) => long.readUInt32LE(4 * k) >>> 31 === 0) ?? 0;
    long.writeUInt32LE(long.readUInt32LE(4 * raw) + 1000, 4 * raw);
    assert.throws(() => read(long), /IntegrityError: \[lanes\]/);
    assert.ok(read(payload) === data.length && back.subarray(0, data.length).equals(data));
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BLOB_OVERHEAD, decodeBlob, encodeBlob } from './blob-codec.ts';
import { blobId, deriveKeys } from './crypto.ts';
import { pseudoRandomBytes, textLikeBytes } from './testdata/inputs.ts';

const keys = deriveKeys(randomBytes(64));
const CODEC_RAW = 0;
const CODEC_ZSTD = 1;

/** `count` float32 values, normally distributed (Box-Muller over seeded bytes): model weights. */
function float32Weights(seed: number, count: number): Buffer {
  const uniform = pseudoRandomBytes(seed, count * 8);
  const out = Buffer.allocUnsafe(count * 4);
  for (let i = 0; i < count; i++) {
    const u1 = (uniform.readUInt32LE(i * 8) + 1) / 2 ** 32;
    const u2 = uniform.readUInt32LE(i * 8 + 4) / 2 ** 32;
    out.writeFloatLE(0.02 * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2), i * 4);
  }
  return out;
}

describe('blob codec', () => {
  const cases = {
    // They shrink by about 7 %: kept compressed (below 3 % they would be stored raw).
    'float32 weights, 1 MiB': { data: float32Weights(1, 256 * 1024), codec: CODEC_ZSTD },
    'random bytes, 1 MiB': { data: pseudoRandomBytes(11, 1024 * 1024), codec: CODEC_RAW },
    'random bytes, 64 KiB': { data: pseudoRandomBytes(12, 64 * 1024), codec: CODEC_RAW },
    'text, 1 MiB': { data: textLikeBytes(3, 1024 * 1024), codec: CODEC_ZSTD },
    'text, 20 KB': { data: textLikeBytes(4, 20_000), codec: CODEC_ZSTD },
    // Text that turns into weights past its start: the sample spans the whole blob.
    'half text, half weights': {
      data: Buffer.concat([textLikeBytes(5, 512 * 1024), float32Weights(6, 128 * 1024)]),
      codec: CODEC_ZSTD,
    },
  };
  for (const [name, { data, codec }] of Object.entries(cases)) {
    it(`stores ${name} ${codec === CODEC_RAW ? 'raw' : 'compressed'}, and reads it back`, async () => {
      const id = blobId(keys, data);
      const blob = await encodeBlob(keys, 'data', id, data, { level: 1 });
      assert.equal(blob.encoded[0], codec);
      if (codec === CODEC_RAW) assert.equal(blob.encoded.length, data.length + BLOB_OVERHEAD);
      else assert.ok(blob.encoded.length <= data.length * 0.97);
      const back = await decodeBlob(keys, 'data', id, blob.encoded, data.length, name);
      assert.deepEqual(back, data);
    });
  }

  it('stores weights raw when the policy asks for a 10 % gain, judged on the sample', async () => {
    for (const count of [256 * 1024, 16 * 1024]) {
      const data = float32Weights(7, count);
      const policy = { level: 1, keepRatio: 0.9 };
      const blob = await encodeBlob(keys, 'data', blobId(keys, data), data, policy);
      assert.equal(blob.encoded[0], CODEC_RAW);
      assert.equal(blob.encoded.length, data.length + BLOB_OVERHEAD);
    }
  });
});

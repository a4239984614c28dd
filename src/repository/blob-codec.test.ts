import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BLOB_OVERHEAD, decodeBlob, decodeBlobsInto, encodeBlob } from './blob-codec.ts';
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

  it('decodes several blobs at once, failing only those at fault', async () => {
    const plaintexts = [
      textLikeBytes(40, 30_000),
      pseudoRandomBytes(41, 2000), // stored raw
      textLikeBytes(42, 12_000),
      textLikeBytes(43, 8000),
      textLikeBytes(44, 20_000),
      textLikeBytes(45, 500),
    ];
    const stored = await Promise.all(
      plaintexts.map(async (data, i) => {
        const id = blobId(keys, data);
        const { encoded } = await encodeBlob(keys, 'data', id, data, { level: 3 });
        return { type: 'data' as const, id, encoded, rawLength: data.length, what: `blob ${i}` };
      }),
    );
    const room = Buffer.alloc(stored.reduce((sum, blob) => sum + blob.encoded.length, 0));
    const all = await decodeBlobsInto(keys, stored, room);
    assert.deepEqual(
      all.map((result) => ('plaintext' in result ? result.plaintext : result.error)),
      plaintexts,
    );
    // Blobs 2 and 3 a byte short and a byte long: together the outputs still add up, so only
    // each blob's own proof finds them. A flipped byte in blob 5 fails its tag.
    const flipped = Buffer.from(stored[5]!.encoded);
    flipped[20]! ^= 1;
    const wrong = [...stored];
    wrong[2] = { ...stored[2]!, rawLength: 11_999 };
    wrong[3] = { ...stored[3]!, rawLength: 8001 };
    wrong[5] = { ...stored[5]!, encoded: flipped };
    const some = await decodeBlobsInto(keys, wrong, room);
    const failed = some.flatMap((result, i) => ('error' in result ? [i] : []));
    assert.deepEqual(failed, [2, 3, 5]);
    for (const i of [0, 1, 4]) {
      const result = some[i]!;
      assert.ok('plaintext' in result && result.plaintext.equals(plaintexts[i]!), `blob ${i}`);
    }
    // Blob 3 alone a byte long: the outputs no longer add up, and each blob is decoded alone.
    const one = await decodeBlobsInto(keys, [...stored.slice(0, 3), wrong[3], stored[4]!], room);
    assert.deepEqual(
      one.map((result) => ('error' in result ? 'failed' : result.plaintext.length)),
      [30_000, 2000, 12_000, 'failed', 20_000],
    );
    const messages = [2, 3, 5].map((i) => String((some[i] as { error: Error }).error.message));
    assert.match(messages[0]!, /^blob 2: cannot decompress/);
    assert.match(messages[1]!, /^blob 3: length 8000, expected 8001/);
    assert.match(messages[2]!, /^blob 5: /);
  });

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

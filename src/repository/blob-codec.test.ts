import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  BLOB_OVERHEAD,
  PLAINTEXT_AT,
  decodeBlob,
  decodeBlobInto,
  encodeBlob,
  encodeBlobInPlace,
} from './blob-codec.ts';
import { blobId, deriveKeys } from './crypto.ts';
import { float32Bytes, pseudoRandomBytes, textLikeBytes } from './testdata/inputs.ts';

const keys = deriveKeys(randomBytes(64));
const CODEC_RAW = 0;
const CODEC_ZSTD = 1;
const CODEC_LANES = 2;

describe('blob codec', () => {
  const cases = {
    // Whole, they shrink by about 7 %; as byte lanes by 16 % (byte-lanes.ts).
    'float32 weights, 1 MiB': { data: float32Bytes(1, 256 * 1024), codec: CODEC_LANES },
    'float32 weights, 1 MiB from the middle of a value': {
      data: float32Bytes(2, 256 * 1024 + 1).subarray(3),
      codec: CODEC_LANES,
    },
    // Too small to be judged on a sample: compressed whole.
    'float32 weights, 64 KiB': { data: float32Bytes(8, 16 * 1024), codec: CODEC_ZSTD },
    'random bytes, 1 MiB': { data: pseudoRandomBytes(11, 1024 * 1024), codec: CODEC_RAW },
    'random bytes, 64 KiB': { data: pseudoRandomBytes(12, 64 * 1024), codec: CODEC_RAW },
    'text, 1 MiB': { data: textLikeBytes(3, 1024 * 1024), codec: CODEC_ZSTD },
    'text, 20 KB': { data: textLikeBytes(4, 20_000), codec: CODEC_ZSTD },
    // Text that turns into weights past its start: the sample spans the whole blob.
    'half text, half weights': {
      data: Buffer.concat([textLikeBytes(5, 512 * 1024), float32Bytes(6, 128 * 1024)]),
      codec: CODEC_ZSTD,
    },
  };
  for (const [name, { data, codec }] of Object.entries(cases)) {
    const form = ['raw', 'compressed', 'as byte lanes'][codec];
    it(`stores ${name} ${form}, and reads it back`, () => {
      const id = blobId(keys, data);
      const blob = encodeBlob(keys, 'data', id, data, { level: 1 });
      assert.equal(blob.encoded[0], codec);
      if (codec === CODEC_RAW) assert.equal(blob.encoded.length, data.length + BLOB_OVERHEAD);
      else if (codec === CODEC_LANES) assert.ok(blob.encoded.length <= data.length * 0.86);
      else assert.ok(blob.encoded.length <= data.length * 0.97);
      const back = decodeBlob(keys, 'data', id, blob.encoded, data.length, name);
      assert.deepEqual(back, data);
    });
  }

  it('decodes into the memory given, and fails a blob whose length or bytes are wrong', () => {
    const plaintexts = [textLikeBytes(40, 30_000), pseudoRandomBytes(41, 2000)];
    const [text, random] = plaintexts.map((data) => {
      const id = blobId(keys, data);
      return { id, data, encoded: encodeBlob(keys, 'data', id, data, { level: 3 }).encoded };
    });
    assert.ok(text && random);
    assert.equal(text.encoded[0], CODEC_ZSTD);
    assert.equal(random.encoded[0], CODEC_RAW);
    const decode = (blob: typeof text, rawLength: number, out: Buffer, room?: Buffer) =>
      decodeBlobInto(keys, 'data', blob.id, blob.encoded, rawLength, 'the blob', out, room);
    // Compressed: the payload at the start of `out`, the plaintext after it, or in `room`.
    const out = Buffer.alloc(text.encoded.length + text.data.length);
    const inOut = decode(text, 30_000, out);
    assert.ok(inOut.equals(text.data));
    assert.equal(inOut.buffer, out.buffer);
    const room = Buffer.alloc(30_000);
    const inRoom = decode(text, 30_000, out, room);
    assert.ok(inRoom.equals(text.data));
    assert.equal(inRoom.buffer, room.buffer);
    // Raw: the plaintext is the payload, at the start of `out`.
    const raw = decode(random, 2000, out);
    assert.ok(raw.equals(random.data));
    assert.equal(raw.byteOffset, out.byteOffset);
    // Too little room: fresh memory, the same plaintext.
    assert.ok(decode(text, 30_000, Buffer.alloc(text.encoded.length)).equals(text.data));
    // A byte short cannot be decompressed into its size; a byte long fails the length proof;
    // a flipped byte fails the tag.
    assert.throws(() => decode(text, 29_999, out), /^IntegrityError: the blob: cannot decompress/);
    assert.throws(() => decode(text, 30_001, out), /the blob: length 30000, expected 30001/);
    const flipped = Buffer.from(text.encoded);
    flipped[20]! ^= 1;
    assert.throws(() => decode({ ...text, encoded: flipped }, 30_000, out), /the blob/);
  });

  it('encodes weights as byte lanes in shared memory and decodes them there, as the workers do', () => {
    const data = float32Bytes(9, 300_001);
    const id = blobId(keys, data);
    // A worker's slot: the plaintext after the codec byte and nonce, at no multiple of 4.
    const slot = Buffer.from(new SharedArrayBuffer(data.length + BLOB_OVERHEAD));
    slot.set(data, PLAINTEXT_AT);
    const length = encodeBlobInPlace(keys, 'data', id, slot, data.length, { level: 1 });
    assert.equal(slot[0], CODEC_LANES);
    assert.ok(length <= data.length * 0.86);
    const encoded = Buffer.from(slot.subarray(0, length));
    assert.deepEqual(decodeBlob(keys, 'data', id, encoded, data.length, 'the blob'), data);
    // Decrypted into the scratch, joined into the slot.
    const room = Buffer.from(new SharedArrayBuffer(data.length));
    const back = decodeBlobInto(
      keys,
      'data',
      id,
      encoded,
      data.length,
      'x',
      Buffer.alloc(length),
      room,
    );
    assert.ok(back.equals(data));
    assert.equal(back.buffer, room.buffer);
    // A lanes payload is authenticated like any: a flipped byte fails the tag.
    const flipped = Buffer.from(encoded);
    flipped[length - 40]! ^= 1;
    assert.throws(
      () => decodeBlob(keys, 'data', id, flipped, data.length, 'x'),
      /x: authentication failed/,
    );
  });

  it('stores weights raw when the policy asks for a 20 % gain, judged on the sample', () => {
    for (const count of [256 * 1024, 16 * 1024]) {
      const data = float32Bytes(7, count);
      const policy = { level: 1, keepRatio: 0.8 };
      const blob = encodeBlob(keys, 'data', blobId(keys, data), data, policy);
      assert.equal(blob.encoded[0], CODEC_RAW);
      assert.equal(blob.encoded.length, data.length + BLOB_OVERHEAD);
    }
  });
});

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { IntegrityError } from '../errors.ts';
import {
  SEAL_NONCE,
  SEAL_OVERHEAD,
  open,
  openInto,
  seal,
  sealInto,
  sha256HexStaged,
} from './crypto.ts';

const key = randomBytes(32);
const aad = Buffer.from('hbr:test');

describe('sealing in place', () => {
  // Sizes around the cipher's 64 KiB pieces, where in-place writes could overrun unread input.
  for (const size of [0, 1, 65_535, 65_536, 3 * 65_536 + 5]) {
    it(`seals ${size} bytes lying in the output as seal() does, and opens them in place`, () => {
      const plaintext = randomBytes(size);
      const frame = Buffer.alloc(size + SEAL_OVERHEAD);
      plaintext.copy(frame, SEAL_NONCE);
      const length = sealInto(key, frame.subarray(SEAL_NONCE, SEAL_NONCE + size), aad, frame);
      assert.equal(length, size + SEAL_OVERHEAD);
      assert.deepEqual(open(key, frame, aad, 'in-place sealed'), plaintext);

      // Opened into the memory it lies in: the plaintext ends up at the start of that memory.
      const sealed = seal(key, plaintext, aad);
      const opened = openInto(key, sealed, aad, sealed, 'sealed');
      assert.equal(opened, size);
      assert.deepEqual(sealed.subarray(0, opened), plaintext);
    });
  }

  it('refuses altered data when opening in place', () => {
    const sealed = seal(key, randomBytes(100_000), aad);
    sealed[70_000]! ^= 1;
    assert.throws(() => openInto(key, sealed, aad, sealed, 'altered'), IntegrityError);
  });
});

describe('SHA-256 staged through a small buffer', () => {
  it('hashes the empty input as SHA-256 does', () => {
    assert.equal(
      sha256HexStaged(Buffer.alloc(0)),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  // Sizes around its 256 KiB pieces, in shared memory as the packs it hashes lie.
  for (const size of [1, 262_143, 262_144, 262_145, 3 * 262_144 + 17, 16 * 1024 * 1024 + 1]) {
    it(`gives the SHA-256 of ${size} bytes in shared memory, called after a longer input`, () => {
      const bytes = Buffer.from(new SharedArrayBuffer(size));
      randomBytes(size).copy(bytes);
      sha256HexStaged(randomBytes(size + 300_000)); // what it left staged must not leak in
      assert.equal(sha256HexStaged(bytes), createHash('sha256').update(bytes).digest('hex'));
    });
  }
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { IntegrityError } from '../errors.ts';
import { SEAL_NONCE, SEAL_OVERHEAD, open, openInto, seal, sealInto } from './crypto.ts';

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

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { IntegrityError } from '../errors.ts';
import { blobIdAsync, openBlobAsync, sealBlobAsync } from './async-crypto.ts';
import { blobId, blobKey, deriveKeys, open, seal } from './crypto.ts';

describe('async blob crypto', () => {
  // Both sides of the size below which the calling thread does the work.
  for (const size of [1_000, 300_000]) describe(`${size} bytes`, () => cases(size));
});

function cases(size: number): void {
  const keys = deriveKeys(randomBytes(64));
  const data = randomBytes(size);
  const aad = Buffer.from('hbr:blob-test');

  it('computes the same blob id as the synchronous HMAC', async () => {
    assert.deepEqual(await blobIdAsync(keys, data), blobId(keys, data));
  });

  it('seals what the synchronous open reads, after the prefix it leaves free', async () => {
    const id = blobId(keys, data);
    const sealed = await sealBlobAsync(keys, id, data, aad, 1);
    assert.deepEqual(open(blobKey(keys, id), sealed.subarray(1), aad, 'test'), data);
  });

  it('opens what the synchronous seal wrote', async () => {
    const id = blobId(keys, data);
    const sealed = seal(blobKey(keys, id), data, aad);
    assert.deepEqual(await openBlobAsync(keys, id, sealed, aad, 'test'), data);
  });

  it('refuses altered data, other authenticated data and truncated input', async () => {
    const id = blobId(keys, data);
    const sealed = await sealBlobAsync(keys, id, data, aad, 0);
    const altered = Buffer.from(sealed);
    altered[100] = (altered[100] ?? 0) ^ 1;
    await assert.rejects(openBlobAsync(keys, id, altered, aad, 'b'), IntegrityError);
    await assert.rejects(openBlobAsync(keys, id, sealed, Buffer.from('x'), 'b'), IntegrityError);
    await assert.rejects(openBlobAsync(keys, id, sealed.subarray(0, 20), aad, 'b'), IntegrityError);
  });
}

import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { derivePasswordKey, startPasswordDerivation, untakenDerivations } from './password-kdf.ts';

const fast = { N: 1024, r: 8, p: 1 };
const salt = Buffer.from('a salt of thirty-two bytes, say.');
const expected = (password: string, params = fast, withSalt = salt): Buffer =>
  scryptSync(password.normalize('NFC'), withSalt, 32, params);

describe('password key derivation', () => {
  test('a derivation started ahead is taken, once, by the unlock with the same inputs', async () => {
    const before = untakenDerivations();
    startPasswordDerivation('correct horse', salt, fast);
    assert.equal(untakenDerivations(), before + 1);
    assert.deepEqual(
      await derivePasswordKey('correct horse', salt, fast),
      expected('correct horse'),
    );
    assert.equal(untakenDerivations(), before);
    // A second unlock derives anew, to the same key.
    assert.deepEqual(
      await derivePasswordKey('correct horse', salt, fast),
      expected('correct horse'),
    );
    assert.equal(untakenDerivations(), before);
  });

  test('another password, salt or cost never takes it', async () => {
    const before = untakenDerivations();
    startPasswordDerivation('guessed', salt, fast);
    const otherSalt = Buffer.from('another salt of thirty-two bytes');
    const otherCost = { ...fast, N: 2048 };
    assert.deepEqual(await derivePasswordKey('typed', salt, fast), expected('typed'));
    assert.deepEqual(
      await derivePasswordKey('guessed', otherSalt, fast),
      expected('guessed', fast, otherSalt),
    );
    assert.deepEqual(
      await derivePasswordKey('guessed', salt, otherCost),
      expected('guessed', otherCost),
    );
    assert.equal(untakenDerivations(), before + 1, 'the guess is still there');
    assert.deepEqual(await derivePasswordKey('guessed', salt, fast), expected('guessed'));
    assert.equal(untakenDerivations(), before);
  });

  test('a derivation that fails fails the unlock that takes it, and nothing before', async () => {
    const bad = { N: 1000, r: 8, p: 1 }; // N must be a power of two
    startPasswordDerivation('pw', salt, bad);
    await new Promise((resolve) => setTimeout(resolve, 20)); // no unhandled rejection meanwhile
    await assert.rejects(derivePasswordKey('pw', salt, bad), /N|invalid|scrypt/i);
  });
});

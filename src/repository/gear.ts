/**
 * The keyed Gear table of the chunker. Part of the repository format: the derivation below must
 * never change once a repository exists (the golden vectors in `testdata/` pin it).
 * @module
 */
import { createHmac } from 'node:crypto';

/** Length in bytes of the chunker key. */
export const CHUNKER_KEY_LENGTH = 32;

/**
 * Derives the 256-entry Gear table from a secret chunker key, so that cut points (and thus chunk
 * sizes) cannot be predicted or used to fingerprint content without the key.
 *
 * Entry `i` is the first big-endian 32-bit word of `HMAC-SHA256(key, "hbr-gear" || u32be(i))`,
 * shifted right by one bit, or 1 if that is 0. Every entry therefore lies in `[1, 2^31)`. That
 * matters for runs of one byte value `b`: the hash `h = 2h + g (mod 2^32)` settles at `-g`, whose
 * top bit is then always set, and every mask includes the top bit, so such runs (all-zero regions
 * above all) never cut and yield max-size chunks.
 *
 * @param key - 32 secret bytes (the repository's chunker key).
 * @returns the table as an `Int32Array` (the chunker works in int32 arithmetic).
 * @throws RangeError when the key is not 32 bytes long.
 */
export function createGearTable(key: Uint8Array): Int32Array {
  if (key.length !== CHUNKER_KEY_LENGTH) {
    throw new RangeError(
      `[chunker] gear key must be ${CHUNKER_KEY_LENGTH} bytes, got ${key.length}`,
    );
  }
  const table = new Int32Array(256);
  const message = Buffer.alloc(12);
  message.write('hbr-gear', 0, 'latin1');
  for (let i = 0; i < 256; i++) {
    message.writeUInt32BE(i, 8);
    const word = createHmac('sha256', key).update(message).digest().readUInt32BE(0);
    table[i] = word >>> 1 || 1;
  }
  return table;
}

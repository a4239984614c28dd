import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storeFormatOf } from './store-format.ts';

/** The first 13 records of a 5.26.30 `neostore` (record-aligned-1.1, made by the test server). */
const ALIGNED = Buffer.from(
  '0185d1c9d631af4f4e0197b1d40380bd6e0d000000000000000000000000000000000000' +
    '01cf1bbcdcb7a564630101000001a2353a65018c023d0e3a88671701de067265636f7264' +
    '0107616c69676e6564010101000000000000010000000000000000010000000000000000' +
    '010000000000000000',
  'hex',
);

test('the store format is read from the store id in the metadata store', () => {
  assert.equal(storeFormatOf(ALIGNED), 'record-aligned-1.1');
  // The rest of the 8 KiB page does not matter.
  assert.equal(
    storeFormatOf(Buffer.concat([ALIGNED, Buffer.alloc(8192 - ALIGNED.length)])),
    'record-aligned-1.1',
  );
});

test('a beta format (negative major version) is named as Neo4j names it', () => {
  const beta = Buffer.from(ALIGNED);
  // The major version byte: record 9's data, after `aligned`.
  beta[9 * 9 + 1] = 0xff;
  assert.equal(storeFormatOf(beta), 'record-aligned-1b.1');
});

test('a file in another layout gives no format rather than a wrong one', () => {
  assert.equal(storeFormatOf(Buffer.alloc(0)), undefined);
  assert.equal(storeFormatOf(ALIGNED.subarray(0, 80)), undefined);
  assert.equal(storeFormatOf(Buffer.alloc(8192)), undefined);
  const freed = Buffer.from(ALIGNED);
  freed[7 * 9] = 0; // a record of the store id not in use
  assert.equal(storeFormatOf(freed), undefined);
  const garbled = Buffer.from(ALIGNED);
  garbled[7 * 9 + 3] = 0x00; // inside `record`
  assert.equal(storeFormatOf(garbled), undefined);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareLsn, formatLsn, lsnFromParts, parseLsn } from './lsn.ts';

void test('a 25-digit decimal LSN beyond 2^64 round-trips exactly', () => {
  const text = '3765680000057920000012345';
  assert.equal(formatLsn(parseLsn(text)), text);
  assert.ok(parseLsn(text) > 2n ** 64n);
});

void test('the hex vlf:block:slot form converts to the decimal form SQL Server stores', () => {
  // 0x22 = 34, 0x45 = 69, 0xb3 = 179 → 34 | 0000000069 | 00179
  assert.equal(parseLsn('00000022:00000045:00b3'), 34000000006900179n);
  assert.equal(lsnFromParts(34n, 69n, 179n), 34000000006900179n);
});

void test('a JS number beyond 2^53 is refused because it may already have lost digits', () => {
  assert.throws(() => parseLsn(34000000006900179), /not an LSN/);
  assert.equal(parseLsn(42), 42n);
});

void test('malformed or negative LSNs are refused', () => {
  for (const bad of ['', '12a', '-5', '1.5', null, undefined, -1n, 2.5]) {
    assert.throws(() => parseLsn(bad), TypeError, String(bad));
  }
});

void test('LSNs sort numerically, not as text', () => {
  const sorted = [100n, 9n, 34000000006900179n].sort(compareLsn);
  assert.deepEqual(sorted, [9n, 100n, 34000000006900179n]);
});

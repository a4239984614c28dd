import assert from 'node:assert/strict';
import { test } from 'node:test';
import neo4j from 'neo4j-driver';
import { decodeProps, decodeValue, encodeProps, encodeValue } from './value-codec.ts';

/** Through the export's text and back, as a logical backup and restore do. */
const roundTrip = (value: unknown): unknown =>
  decodeValue(JSON.parse(JSON.stringify(encodeValue(value))) as never);

test('a float -0.0 keeps its sign through the export', () => {
  assert.ok(Object.is(roundTrip(-0), -0));
  assert.ok(Object.is(roundTrip(0), 0));
  assert.deepEqual(
    (roundTrip([-0, 1.5]) as number[]).map((x) => Object.is(x, -0)),
    [true, false],
  );
});

test('a duration of more than 2^53 seconds keeps every second', () => {
  const seconds = '9007199254740993'; // 2^53 + 1
  const months = '-9007199254740995';
  const duration = new neo4j.types.Duration(
    neo4j.int(months),
    neo4j.int(3),
    neo4j.int(seconds),
    neo4j.int(7),
  );
  const back = roundTrip(duration) as typeof duration;
  assert.ok(neo4j.isDuration(back));
  assert.equal(back.months.toString(), months);
  assert.equal(back.days.toString(), '3');
  assert.equal(back.seconds.toString(), seconds);
  assert.equal(back.nanoseconds.toString(), '7');
  // Exports written before: plain numbers.
  const old = decodeValue({ $t: 'Duration', mo: 1, d: 2, s: 3, ns: 4 }) as typeof duration;
  assert.equal(old.toString(), new neo4j.types.Duration(1, 2, 3, 4).toString());
});

test('a property named __proto__ (or like any Object member) is kept', () => {
  const props = Object.fromEntries([
    ['__proto__', 'proto-val'],
    ['constructor', 'c'],
    ['k', neo4j.int(1)],
  ]) as Record<string, unknown>;
  const text = JSON.stringify(encodeProps(props));
  assert.match(text, /"__proto__":"proto-val"/);
  const back = decodeProps(JSON.parse(text) as never);
  assert.deepEqual(Object.keys(back), ['__proto__', 'constructor', 'k']);
  assert.equal(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, 'proto-val');
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
});

test('a byte array decodes to the Int8Array the driver sends as a byte array, each byte kept', () => {
  const bytes = Int8Array.from([0, 1, -1, 127, -128]);
  const encoded = JSON.parse(JSON.stringify(encodeValue(bytes))) as never;
  assert.deepEqual(encoded, { $bytes: Buffer.from([0, 1, 255, 127, 128]).toString('base64') });
  const back = decodeValue(encoded);
  // A Buffer (or any Uint8Array) would be sent as a list of numbers and stored as LIST<FLOAT>.
  assert.ok(back instanceof Int8Array, `decoded to ${Object.prototype.toString.call(back)}`);
  assert.deepEqual([...back], [0, 1, -1, 127, -128]);
});

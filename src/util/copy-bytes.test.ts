import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyBytes } from './copy-bytes.ts';

/** Fills `memory` with bytes that differ from their neighbours, so a shifted copy shows. */
function _counting<T extends Uint8Array>(memory: T): T {
  for (let i = 0; i < memory.length; i++) memory[i] = (i * 7 + 3) & 0xff;
  return memory;
}

void describe('copyBytes', () => {
  void it('copies exactly the source, at every offset, between shared and private memory', () => {
    const kinds = {
      shared: (size: number) => Buffer.from(new SharedArrayBuffer(size)),
      private: (size: number) => Buffer.alloc(size),
      plain: (size: number) => new Uint8Array(size),
    };
    for (const [fromKind, from] of Object.entries(kinds)) {
      for (const [toKind, to] of Object.entries(kinds)) {
        const source = _counting(from(100_000));
        for (const [start, length, at] of [
          [3, 70_001, 0],
          [0, 65_536, 5],
          [8, 1, 13],
          [1, 99_999, 1],
        ] as const) {
          const target = to(100_016).fill(0xee);
          const what = `${fromKind} -> ${toKind}, ${length} bytes from ${start} to ${at}`;
          assert.equal(copyBytes(source.subarray(start, start + length), target, at), length);
          const copied = target.subarray(at, at + length);
          assert.equal(Buffer.compare(copied, source.subarray(start, start + length)), 0, what);
          assert.ok(
            target.subarray(0, at).every((b) => b === 0xee),
            `${what}: before`,
          );
          assert.ok(
            target.subarray(at + length).every((b) => b === 0xee),
            `${what}: after`,
          );
        }
      }
    }
  });

  void it('copies nothing from an empty source, and refuses a source that does not fit', () => {
    const target = Buffer.alloc(10);
    assert.equal(copyBytes(Buffer.alloc(0), target, 10), 0);
    assert.throws(() => copyBytes(Buffer.alloc(4), target, 7), RangeError);
    assert.throws(() => copyBytes(Buffer.alloc(11), target), RangeError);
    assert.deepEqual(target, Buffer.alloc(10), 'nothing written by a refused copy');
  });

  void it('copies within one memory as memmove does, when the ranges overlap', () => {
    const memory = _counting(Buffer.from(new SharedArrayBuffer(1000)));
    const expected = Buffer.from(memory.subarray(0, 900));
    copyBytes(memory.subarray(0, 900), memory, 100);
    assert.deepEqual(memory.subarray(100), expected);
  });
});

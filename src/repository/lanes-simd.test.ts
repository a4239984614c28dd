import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinGroups, splitGroups } from './lanes-simd.ts';
import { pseudoRandomBytes } from './testdata/inputs.ts';

describe('byte lanes in WebAssembly SIMD', () => {
  it('regroups every whole 64-byte group, block after block, and leaves the rest alone', () => {
    // Runs here: without SIMD both return 0 and every byte goes the slow way.
    for (const length of [64, 64 * 1024, 64 * 1024 + 64 + 63, 3 * 64 * 1024 + 1000, 5]) {
      const data = pseudoRandomBytes(length, length);
      const whole = length - (length % 64);
      const lanes = [0, 1, 2, 3].map(() => Buffer.alloc(Math.ceil(length / 4), 0xee));
      assert.equal(splitGroups(data, lanes), whole, `split ${length}`);
      for (let i = 0; i < length; i++) {
        const lane = lanes[i % 4]![Math.floor(i / 4)];
        assert.equal(lane, i < whole ? data[i] : 0xee, `split ${length}: byte ${i}`);
      }
      const joined = Buffer.alloc(length, 0xee);
      assert.equal(joinGroups(lanes, joined), whole, `join ${length}`);
      assert.ok(joined.subarray(0, whole).equals(data.subarray(0, whole)), `join ${length}`);
      assert.ok(
        joined.subarray(whole).every((b) => b === 0xee),
        `join ${length}: the rest`,
      );
    }
  });
});

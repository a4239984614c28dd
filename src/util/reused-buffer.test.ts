import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reusedBuffer } from './reused-buffer.ts';

void describe('reusedBuffer', () => {
  void it('returns the same buffer while it fits, a larger one when it does not', () => {
    const take = reusedBuffer();
    const first = take(1000);
    assert.ok(first.length >= 1000);
    assert.equal(take(10), first);
    assert.equal(take(1000), first);
    const larger = take(5000);
    assert.notEqual(larger, first);
    assert.ok(larger.length >= 5000);
    assert.equal(take(1000), larger);
    assert.notEqual(reusedBuffer()(10), larger, 'each has its own buffer');
  });
});

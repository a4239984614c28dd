import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareText } from './compare-text.ts';

void describe('compareText', () => {
  void it('orders hex ids and ISO timestamps as localeCompare does', () => {
    const hex = fc.stringMatching(/^[0-9a-f]{0,16}$/);
    const iso = fc
      .date({ min: new Date('1990-01-01'), max: new Date('2200-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString());
    for (const text of [hex, iso]) {
      fc.assert(
        fc.property(text, text, (a, b) => {
          assert.equal(Math.sign(compareText(a, b)), Math.sign(a.localeCompare(b)));
        }),
        { numRuns: 2000 },
      );
    }
    assert.deepEqual(['b', 'a', 'ab', ''].sort(compareText), ['', 'a', 'ab', 'b']);
  });
});

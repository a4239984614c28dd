import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../errors.ts';
import { addDuration, isDuration, parseDuration, subtractDuration } from './duration.ts';

void describe('durations', () => {
  void it('parses combined units, keeping years and months apart', () => {
    assert.deepEqual(parseDuration('1y6mo'), { years: 1, months: 6, ms: 0 });
    assert.deepEqual(parseDuration('2d12h30m'), {
      years: 0,
      months: 0,
      ms: (2 * 24 * 60 + 12 * 60 + 30) * 60_000,
    });
    assert.deepEqual(parseDuration('1w'), { years: 0, months: 0, ms: 7 * 86_400_000 });
  });

  void it('rejects text that is not a duration', () => {
    for (const text of ['', '7', 'd7', '7 days', '1.5h', '-1d']) {
      assert.equal(isDuration(text), false, text);
      assert.throws(() => parseDuration(text), UsageError);
    }
  });

  void it('refuses a duration so long that a date shifted by it would be no date', () => {
    for (const text of ['300000y', '9999999999d', '120001mo', '10001y']) {
      assert.throws(() => parseDuration(text), /longer than 10000 years/, text);
    }
    const longest = parseDuration('10000y');
    assert.ok(!Number.isNaN(subtractDuration(new Date(), longest).getTime()));
    assert.ok(!Number.isNaN(addDuration(new Date(), parseDuration('3650000d')).getTime()));
  });

  void it('subtracts months on the calendar, clamping to the end of shorter months', () => {
    const at = new Date('2024-03-31T10:00:00Z');
    assert.equal(
      subtractDuration(at, parseDuration('1mo')).toISOString(),
      '2024-02-29T10:00:00.000Z',
    );
    assert.equal(
      subtractDuration(at, parseDuration('1y1mo')).toISOString(),
      '2023-02-28T10:00:00.000Z',
    );
    assert.equal(
      subtractDuration(at, parseDuration('1d2h')).toISOString(),
      '2024-03-30T08:00:00.000Z',
    );
  });
});

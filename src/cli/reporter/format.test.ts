import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import prettyBytes from 'pretty-bytes';
import {
  formatBytes,
  formatClock,
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
} from './format.ts';

void describe('human formats', () => {
  void it('prints sizes in binary units', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1,023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(3 * 1024 ** 3), '3 GiB');
    assert.equal(formatRate(100 * 1024 ** 2), '100 MiB/s');
  });

  void it('writes numbers as pretty-bytes and toLocaleString (en-US) do, without Intl', () => {
    // Sizes from bytes to exbibytes, at every scale; rates also fractional; counts grouped.
    const magnitude = fc
      .tuple(fc.integer({ min: 0, max: 62 }), fc.double({ min: 0, max: 1, noNaN: true }))
      .map(([power, f]) => Math.floor(2 ** power * (1 + f)));
    fc.assert(
      fc.property(magnitude, fc.boolean(), (bytes, negative) => {
        const value = negative ? -bytes : bytes;
        const reference = { binary: true, locale: 'en-US' } as const;
        assert.equal(
          formatBytes(value),
          prettyBytes(value, { ...reference, maximumFractionDigits: 2 }),
        );
        const rate = value / 3;
        assert.equal(
          formatRate(rate),
          `${prettyBytes(rate, { ...reference, maximumFractionDigits: 1 })}/s`,
        );
        // Counts are whole numbers a file system can hold (toLocaleString writes larger ones
        // by their shortest round-trip digits).
        if (Number.isSafeInteger(value)) {
          assert.equal(formatCount(value), value.toLocaleString('en-US'));
        }
      }),
      { numRuns: 5000 },
    );
    for (const edge of [1023.995, 1024 ** 2 - 1, 1024 ** 3, 0.004, 0.005, 999.995, 1e21 - 1]) {
      assert.equal(
        formatBytes(edge),
        prettyBytes(edge, { binary: true, locale: 'en-US', maximumFractionDigits: 2 }),
      );
    }
  });

  void it('prints durations in the largest two units that matter', () => {
    assert.equal(formatDuration(350), '350 ms');
    assert.equal(formatDuration(12_345), '12.3 s');
    assert.equal(formatDuration(59_990), '1m 00s');
    assert.equal(formatDuration(245_000), '4m 05s');
    assert.equal(formatDuration(2 * 3600_000 + 3 * 60_000), '2h 03m');
    assert.equal(formatDuration(3 * 86400_000 + 4 * 3600_000), '3d 04h');
    assert.equal(formatDuration(-5), '0 ms');
    assert.equal(formatDuration(Number.NaN), '0 ms');
  });

  void it('prints clocks and percentages for progress lines', () => {
    assert.equal(formatClock(7_000), '0:07');
    assert.equal(formatClock(754_000), '12:34');
    assert.equal(formatClock(3723_000), '1:02:03');
    assert.equal(formatClock(Number.POSITIVE_INFINITY), '0:00');
    assert.equal(formatPercent(0.4204), '42.0%');
    assert.equal(formatPercent(1.5), '100.0%');
    assert.equal(formatCount(1234567), '1,234,567');
  });
});

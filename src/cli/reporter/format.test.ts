import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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

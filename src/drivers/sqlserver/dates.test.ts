import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatServerLocal, parseHistoryDate, parseIsoInstant } from './dates.ts';

void test('Microsoft JSON dates are milliseconds since the epoch, offset suffix ignored', () => {
  assert.equal(parseHistoryDate('/Date(1493883737000)/').toISOString(), '2017-05-04T07:42:17.000Z');
  assert.equal(
    parseHistoryDate('/Date(1493883737000+0200)/').toISOString(),
    '2017-05-04T07:42:17.000Z',
  );
});

void test('ISO 8601 without an offset is UTC, with an offset is converted', () => {
  assert.equal(parseIsoInstant('2017-05-04T07:46:00').toISOString(), '2017-05-04T07:46:00.000Z');
  assert.equal(parseIsoInstant('2017-05-04 07:46').toISOString(), '2017-05-04T07:46:00.000Z');
  assert.equal(
    parseIsoInstant('2017-05-04T09:46:00+02:00').toISOString(),
    '2017-05-04T07:46:00.000Z',
  );
  assert.equal(
    parseIsoInstant('2017-05-04T02:16:00.1234567-0530').toISOString(),
    '2017-05-04T07:46:00.123Z',
  );
  assert.equal(parseIsoInstant('2017-05-04').toISOString(), '2017-05-04T00:00:00.000Z');
});

void test('impossible or malformed times are refused', () => {
  for (const bad of [
    '2026-02-30',
    '2026-13-01T00:00',
    '2026-01-01T24:00',
    'yesterday',
    '05/04/2017',
  ]) {
    assert.throws(() => parseIsoInstant(bad), TypeError, bad);
  }
});

void test('UTC offsets beyond ±14:00 or with 60 minutes or more are refused, the extremes taken', () => {
  for (const bad of ['+25:00', '+05:99', '-14:01', '+15:00', '+0560', '-99']) {
    assert.throws(() => parseIsoInstant(`2026-11-20T01:07:00${bad}`), /UTC offset/, bad);
  }
  assert.equal(
    parseIsoInstant('2026-11-20T14:00:00+14:00').toISOString(),
    '2026-11-20T00:00:00.000Z',
  );
  assert.equal(
    parseIsoInstant('2026-11-20T00:00:00-12:00').toISOString(),
    '2026-11-20T12:00:00.000Z',
  );
  assert.equal(
    parseIsoInstant('2026-11-20T05:45:00+05:45').toISOString(),
    '2026-11-20T00:00:00.000Z',
  );
});

void test('STOPAT text is the wall-clock time of the server zone, to the millisecond', () => {
  const t = new Date('2017-05-04T07:46:00.120Z');
  assert.equal(formatServerLocal(t, 0), '2017-05-04T07:46:00.120');
  assert.equal(formatServerLocal(t, 120), '2017-05-04T09:46:00.120');
  assert.equal(formatServerLocal(t, -300), '2017-05-04T02:46:00.120');
});

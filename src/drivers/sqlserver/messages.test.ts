import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeSqlError, parseProgress } from './messages.ts';

void test('STATS lines give the percentage, other messages none', () => {
  assert.equal(parseProgress('10 percent processed.'), 10);
  assert.equal(parseProgress('100 percent processed.'), 100);
  assert.equal(parseProgress("Processed 376 pages for database 'S', file 'S' on file 1."), null);
});

void test('a failed RESTORE names the real cause before the generic 3013', () => {
  const last = Object.assign(new Error('RESTORE LOG is terminating abnormally.'), {
    number: 3013,
    precedingErrors: [
      Object.assign(
        new Error(
          'The log in this backup set begins at LSN 34000000023200001, which is too recent to apply to the database.',
        ),
        {
          number: 4305,
        },
      ),
    ],
  });
  assert.equal(
    describeSqlError(last),
    'Msg 4305: The log in this backup set begins at LSN 34000000023200001, which is too recent to apply to the database. | ' +
      'Msg 3013: RESTORE LOG is terminating abnormally.',
  );
  assert.equal(describeSqlError(new Error('socket hang up')), 'socket hang up');
});

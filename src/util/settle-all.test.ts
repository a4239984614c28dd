import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { settleAll } from './settle-all.ts';

describe('settleAll', () => {
  it('gives the values in order, plain values too', async () => {
    assert.deepEqual(await settleAll([sleep(5).then(() => 1), 2, Promise.resolve(3)]), [1, 2, 3]);
  });

  it('rejects with the first failure only once the slower promises have settled', async () => {
    let slowDone = false;
    const slow = sleep(30).then(() => {
      slowDone = true;
    });
    await assert.rejects(
      settleAll([Promise.reject(new Error('first')), slow, Promise.reject(new Error('second'))]),
      (error: Error) => error.message === 'first' && slowDone,
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createByteBudget } from './byte-budget.ts';

describe('byte budget', () => {
  it('admits requests up to the limit and holds the next until bytes are released', async () => {
    const budget = createByteBudget(10);
    assert.equal(budget.tryAcquire(6), true);
    assert.equal(budget.tryAcquire(6), false);
    let admitted = false;
    const waiting = budget.acquire(6).then(() => (admitted = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(admitted, false);
    budget.release(6);
    await waiting;
    assert.equal(budget.held, 6);
  });

  it('admits a request larger than the whole budget when nothing is held', async () => {
    const budget = createByteBudget(10);
    await budget.acquire(50);
    assert.equal(budget.held, 50);
    assert.equal(budget.tryAcquire(1), false);
    budget.release(50);
    assert.equal(budget.tryAcquire(1), true);
  });

  it('serves waiters in order, so a large request is not starved by small ones', async () => {
    const budget = createByteBudget(10);
    budget.tryAcquire(8);
    const order: string[] = [];
    const big = budget.acquire(9).then(() => order.push('big'));
    assert.equal(budget.tryAcquire(1), false); // would overtake the waiting request
    budget.release(8);
    await big;
    assert.deepEqual(order, ['big']);
  });
});

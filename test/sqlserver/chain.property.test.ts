/** Property-based tests of the planner on generated valid chains (fast-check). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { PlanError } from '../../src/errors.ts';
import type { BackupSetRecord } from '../../src/drivers/sqlserver/backup-set.ts';
import { planRestore, planToLog } from '../../src/drivers/sqlserver/chain.ts';
import { rec } from './build.ts';

interface Chain {
  records: BackupSetRecord[];
  full: BackupSetRecord;
  logs: BackupSetRecord[];
}

/**
 * A valid history: a full, then 2–12 contiguous non-empty logs (the first may start before the
 * full ended), empty logs sprinkled in, an optional differential on the full, LSNs near 2^80.
 */
const chainArb: fc.Arbitrary<Chain> = fc
  .record({
    origin: fc.bigInt({ min: 2n ** 80n, max: 2n ** 81n }),
    fullLength: fc.bigInt({ min: 1n, max: 10n ** 6n }),
    firstOverlap: fc.bigInt({ min: 0n, max: 10n ** 6n }),
    steps: fc.array(fc.bigInt({ min: 1n, max: 10n ** 9n }), { minLength: 2, maxLength: 12 }),
    empties: fc.array(fc.nat(11), { maxLength: 4 }),
    diffAfter: fc.option(fc.nat(10)),
  })
  .map(({ origin, fullLength, firstOverlap, steps, empties, diffAfter }) => {
    const full = rec('full', origin, origin + fullLength, 10);
    let lsn = full.lastLsn - (firstOverlap % (fullLength + 1n));
    const logs = steps.map((step, i) => {
      const log = rec('log', lsn, (lsn > full.lastLsn ? lsn : full.lastLsn) + step, 20 + i * 15);
      lsn = log.lastLsn;
      return log;
    });
    const extra: BackupSetRecord[] = empties
      .filter((i) => i < logs.length)
      .map((i) => rec('log', logs[i]!.lastLsn, logs[i]!.lastLsn, 21 + i * 15));
    if (diffAfter !== null && diffAfter < logs.length - 1) {
      const covered = logs[diffAfter]!;
      extra.push(
        rec('diff', covered.lastLsn - 1n, covered.lastLsn, 22 + diffAfter * 15, {
          databaseBackupLsn: full.checkpointLsn,
        }),
      );
    }
    return { records: [full, ...logs, ...extra], full, logs };
  });

void it('any valid generated chain plans contiguously to any time it covers', () => {
  fc.assert(
    fc.property(chainArb, fc.double({ min: 0, max: 1, noNaN: true }), (chain, fraction) => {
      const first = chain.full.finish.getTime();
      const last = chain.logs.at(-1)!.finish.getTime();
      const at = new Date(Math.floor(first + (last - first) * fraction));
      const plan = planRestore(chain.records, { kind: 'time', at });
      const [base, ...rest] = plan.steps;
      assert.equal(base, chain.full);
      let tip = base.lastLsn;
      for (const step of rest) {
        if (step.type === 'diff') {
          assert.equal(step.databaseBackupLsn, base.checkpointLsn, 'the diff is based on the full');
          assert.ok(step.lastLsn > tip);
        } else {
          assert.ok(step.firstLsn <= tip && tip < step.lastLsn, 'each log continues the chain');
          assert.ok(step.firstLsn !== step.lastLsn, 'no empty log is applied');
        }
        tip = step.lastLsn;
      }
      const end = plan.steps.at(-1)!;
      assert.ok(end.finish.getTime() >= at.getTime(), 'the last step reaches the target');
      const beforeEnd = plan.steps.slice(0, -1).filter((s) => s.type === 'log');
      assert.ok(
        beforeEnd.every((s) => s.finish < at),
        'no log beyond the first ending at T',
      );
    }),
  );
});

void it('removing any one log but the last yields LSN_GAP naming both LSNs', () => {
  fc.assert(
    fc.property(chainArb, fc.nat(), (chain, pickIndex) => {
      const latest = planRestore(chain.records, { kind: 'latest' });
      const planned = latest.steps.filter((s) => s.type === 'log');
      fc.pre(planned.length >= 2);
      const removed = planned[pickIndex % (planned.length - 1)]!;
      const records = chain.records.filter((r) => r !== removed);
      assert.throws(
        () => planRestore(records, { kind: 'latest' }),
        (e: unknown) => {
          if (!(e instanceof PlanError) || e.reason !== 'LSN_GAP') return false;
          const index = latest.steps.indexOf(removed);
          const before = latest.steps[index - 1]!.lastLsn;
          const after = latest.steps[index + 1]!.firstLsn;
          return e.message.includes(String(before)) && e.message.includes(String(after));
        },
      );
    }),
  );
});

void it('restoring to any log backup by id plans a contiguous chain ending at its LastLSN', () => {
  fc.assert(
    fc.property(chainArb, fc.nat(), (chain, pickIndex) => {
      const logs = chain.records.filter((r) => r.type === 'log');
      const log = logs[pickIndex % logs.length]!;
      const plan = planToLog(chain.records, log);
      const [base, ...rest] = plan.steps;
      assert.equal(base, chain.full);
      let tip = base.lastLsn;
      for (const step of rest) {
        if (step.type === 'log')
          assert.ok(step.firstLsn <= tip && tip < step.lastLsn, 'each log continues the chain');
        tip = step.lastLsn;
      }
      // The log itself, or (for an empty one, or a differential ending where it ends) the set
      // that ends at the same LSN: the same point.
      assert.equal(tip, log.lastLsn);
      if (log.firstLsn !== log.lastLsn && plan.steps.at(-1)!.type === 'log')
        assert.equal(plan.steps.at(-1), log);
    }),
  );
});

/** The planner's rules on small synthetic histories, one rule per test. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PlanError } from '../../src/errors.ts';
import type { BackupSetRecord } from '../../src/drivers/sqlserver/backup-set.ts';
import type { SqlServerCatalog } from '../../src/drivers/sqlserver/catalog.ts';
import { planToDataBackup } from '../../src/drivers/sqlserver/chain-base.ts';
import { planRestore } from '../../src/drivers/sqlserver/chain.ts';
import type { RestoreTarget } from '../../src/drivers/sqlserver/plan.ts';
import { planFor } from '../../src/drivers/sqlserver/restore-source.ts';
import { minute, rec } from './build.ts';

const latest: RestoreTarget = { kind: 'latest' };
const reason = (r: string) => (e: unknown) => e instanceof PlanError && e.reason === r;

void it('uses a copy-only full as the base but never as a differential base', () => {
  const full = rec('full', 100n, 200n, 10);
  const diff = rec('diff', 400n, 450n, 40, { databaseBackupLsn: 100n });
  const copy = rec('full', 500n, 600n, 50, { isCopyOnly: true, databaseBackupLsn: 100n });
  const log = rec('log', 550n, 700n, 60, { databaseBackupLsn: 100n });
  const plan = planRestore([full, diff, copy, log], latest);
  assert.deepEqual(plan.steps, [copy, log]);
});

void it('takes a differential only when its base GUID names the chosen full', () => {
  const full = rec('full', 100n, 200n, 10);
  const other = '11111111-1111-4111-8111-111111111111';
  const foreignDiff = rec('diff', 300n, 350n, 20, {
    differentialBaseGuid: other,
    databaseBackupLsn: 100n,
  });
  const log = rec('log', 150n, 400n, 30);
  assert.deepEqual(planRestore([full, foreignDiff, log], latest).steps, [full, log]);
  const ownDiff = { ...foreignDiff, differentialBaseGuid: full.backupSetGuid };
  const log2 = rec('log', 150n, 400n, 30);
  assert.deepEqual(planRestore([full, ownDiff, log2], latest).steps, [full, ownDiff, log2]);
});

void it('takes the latest matching differential that ended before the target', () => {
  const full = rec('full', 100n, 200n, 10);
  const d1 = rec('diff', 300n, 350n, 20, { databaseBackupLsn: 100n });
  const d2 = rec('diff', 500n, 550n, 40, { databaseBackupLsn: 100n });
  const l1 = rec('log', 150n, 400n, 30);
  const l2 = rec('log', 400n, 600n, 50);
  const at30: RestoreTarget = { kind: 'time', at: minute(30) };
  assert.deepEqual(planRestore([full, d1, d2, l1, l2], at30).steps, [full, d1, l1]);
  assert.deepEqual(planRestore([full, d1, d2, l1, l2], latest).steps, [full, d2, l2]);
});

void it('chooses among overlapping logs the one reaching furthest', () => {
  const full = rec('full', 100n, 200n, 10);
  const l1 = rec('log', 150n, 300n, 20);
  const copyOnly = rec('log', 300n, 350n, 25, { isCopyOnly: true });
  const l2 = rec('log', 300n, 400n, 30);
  assert.deepEqual(planRestore([full, l1, copyOnly, l2], latest).steps, [full, l1, l2]);
});

void it('never uses a log that ends exactly at the base LastLSN', () => {
  const full = rec('full', 100n, 200n, 10);
  const during = rec('log', 50n, 200n, 9);
  const l1 = rec('log', 200n, 300n, 20);
  assert.deepEqual(planRestore([full, during, l1], latest).steps, [full, l1]);
});

void it('follows recovery forks and reports a log on another fork', () => {
  const a = 'aaaaaaaa-0000-4000-8000-000000000000';
  const b = 'bbbbbbbb-0000-4000-8000-000000000000';
  const full = rec('full', 100n, 200n, 10, { recoveryForkId: a, firstRecoveryForkId: a });
  const crossing = rec('log', 150n, 300n, 20, { firstRecoveryForkId: a, recoveryForkId: b });
  const onB = rec('log', 300n, 400n, 30, { firstRecoveryForkId: b, recoveryForkId: b });
  assert.deepEqual(planRestore([full, crossing, onB], latest).steps, [full, crossing, onB]);
  const onA = rec('log', 300n, 400n, 30, { firstRecoveryForkId: a, recoveryForkId: a });
  assert.throws(() => planRestore([full, crossing, onA], latest), reason('FORK_MISMATCH'));
});

void it('stops at the log containing a target LSN and asks for STOPATMARK', () => {
  const full = rec('full', 100n, 200n, 10);
  const l1 = rec('log', 150n, 300n, 20);
  const l2 = rec('log', 300n, 400n, 30);
  const plan = planRestore([full, l1, l2], { kind: 'lsn', lsn: 300n });
  assert.deepEqual(plan.steps, [full, l1, l2]);
  assert.equal(plan.stopAtLsn, 300n);
  assert.deepEqual(planRestore([full, l1, l2], { kind: 'lsn', lsn: 299n }).steps, [full, l1]);
  assert.throws(
    () => planRestore([full, l1, l2], { kind: 'lsn', lsn: 400n }),
    reason('TAIL_LOG_NEEDED'),
  );
  assert.throws(
    () => planRestore([full, l1], { kind: 'lsn', lsn: 150n }),
    reason('NO_FULL_BEFORE_TARGET'),
  );
});

void it('restores a full alone when the target is its finish time', () => {
  const full = rec('full', 100n, 200n, 10);
  const l1 = rec('log', 150n, 300n, 20);
  const plan = planRestore([full, l1], { kind: 'time', at: minute(10) });
  assert.deepEqual(plan.steps, [full]);
  assert.equal(plan.stopAt, null);
});

void it('falls back to an older full when the newest cannot reach the target, and says so', () => {
  const f1 = rec('full', 100n, 200n, 10);
  const l1 = rec('log', 150n, 300n, 20);
  const l2 = rec('log', 300n, 400n, 30);
  // A full of another lineage restored under the same name, with no logs of its own.
  const stray = rec('full', 900n, 950n, 25, {
    recoveryForkId: 'cccccccc-0000-4000-8000-000000000000',
  });
  const l3 = rec('log', 400n, 1000n, 40, {
    firstRecoveryForkId: 'dddddddd-0000-4000-8000-000000000000',
  });
  const plan = planRestore([f1, l1, l2, stray, l3], { kind: 'time', at: minute(28) });
  assert.deepEqual(plan.steps, [f1, l1, l2]);
  assert.match(plan.warnings.join(), new RegExp(stray.backupSetGuid));
});

void it('ignores damaged backup sets', () => {
  const full = rec('full', 100n, 200n, 10);
  const bad = rec('full', 300n, 400n, 20, { isDamaged: true });
  const l1 = rec('log', 150n, 500n, 30);
  assert.deepEqual(planRestore([full, bad, l1], latest).steps, [full, l1]);
});

void it('asks for --database when the history holds several, and names them', () => {
  const a = rec('full', 1n, 2n, 1);
  const b = rec('full', 1n, 2n, 1, { database: 'HR' });
  assert.throws(
    () => planRestore([a, b], latest),
    (e: unknown) => reason('DATABASE_AMBIGUOUS')(e) && /"Sales", "HR"/.test((e as Error).message),
  );
  assert.deepEqual(planRestore([a, b], latest, { database: 'hr' }).steps, [b]);
  assert.throws(() => planRestore([a, b], latest, { database: 'Nope' }), reason('NO_BACKUPS'));
  assert.throws(() => planRestore([], latest), reason('NO_BACKUPS'));
});

void it('refuses a history with logs but no full', () => {
  const l1 = rec('log', 150n, 300n, 20);
  assert.throws(() => planRestore([l1], latest), reason('NO_FULL_BEFORE_TARGET'));
});

void it('never mixes backups of two lineages of one name (FamilyGUID), even when LSNs line up', () => {
  const oldDb = 'eeeeeeee-0000-4000-8000-000000000001';
  const newDb = 'eeeeeeee-0000-4000-8000-000000000002';
  const full = rec('full', 100n, 200n, 10, { familyGuid: newDb });
  const own = rec('log', 150n, 250n, 20, { familyGuid: newDb });
  // A log of the dropped database (taken before it was dropped) whose LSNs happen to continue
  // the new one's chain.
  const stray = rec('log', 250n, 900n, 5, { familyGuid: oldDb });
  const plan = planRestore([full, own, stray], latest);
  assert.deepEqual(plan.steps, [full, own]);
});

void it('restores latest on the fork a restore to a point in time started, not the abandoned one', () => {
  const A = 'aaaaaaaa-0000-4000-8000-00000000000a';
  const B = 'bbbbbbbb-0000-4000-8000-00000000000b';
  const onA = { recoveryForkId: A, firstRecoveryForkId: A };
  const onB = { recoveryForkId: B, firstRecoveryForkId: B };
  const full = rec('full', 100n, 200n, 0, onA);
  const l1 = rec('log', 200n, 300n, 60, onA);
  const l2 = rec('log', 300n, 400n, 120, onA);
  const l3 = rec('log', 400n, 500n, 180, onA);
  // At 03:30 the database was restored to 01:30 (LSN 350, inside l2): fork B starts there, and
  // hbr's log backups went on from it. l2 and l3 reach further in LSN, on the abandoned fork.
  const b1 = rec('log', 300n, 360n, 240, { firstRecoveryForkId: A, recoveryForkId: B });
  const b2 = rec('log', 360n, 420n, 300, onB);
  const b3 = rec('log', 420n, 480n, 1740, onB);
  const history = [full, l1, l2, l3, b1, b2, b3];
  assert.deepEqual(planRestore(history, latest).steps, [full, l1, b1, b2, b3]);
  // A time the abandoned fork never reached is found on the new one.
  const nextDay = planRestore(history, { kind: 'time', at: minute(1700) });
  assert.deepEqual(nextDay.steps, [full, l1, b1, b2, b3]);
  // A time before the fork still restores on the fork it was on.
  assert.deepEqual(planRestore(history, { kind: 'time', at: minute(170) }).steps, [
    full,
    l1,
    l2,
    l3,
  ]);

  // With a full taken on fork B: latest starts from it, although the abandoned fork's later full
  // has a higher LastLSN.
  const aFull = rec('full', 450n, 500n, 200, onA);
  const bFull = rec('full', 410n, 420n, 320, onB);
  assert.deepEqual(planRestore([...history, aFull, bFull], latest).steps, [bFull, b3]);
});

void it('restores latest to the log with the highest LastLSN on its fork, whatever the finish times', () => {
  const A = 'aaaaaaaa-0000-4000-8000-00000000000a';
  const onA = { recoveryForkId: A, firstRecoveryForkId: A };
  const full = rec('full', 100n, 200n, 0, onA);
  const l1 = rec('log', 200n, 300n, 60, onA);
  // l2 and l3 finish in the same second: l3, with the higher LastLSN, is the newest.
  const l2 = rec('log', 300n, 400n, 120, onA);
  const l3 = rec('log', 400n, 500n, 120, onA);
  assert.deepEqual(planRestore([full, l1, l2, l3], latest).steps, [full, l1, l2, l3]);
  // Taken on another replica whose clock is a minute behind: l4 shows an earlier finish than l3,
  // yet continues it.
  const l4 = rec('log', 500n, 600n, 119, { ...onA, server: 'sql2' });
  assert.deepEqual(planRestore([full, l1, l2, l3, l4], latest).steps, [full, l1, l2, l3, l4]);
});

void it('restores latest from a re-created database, not the dropped one whose LSNs ran higher', () => {
  const dropped = rec('full', 9_000_000n, 9_000_100n, 0, { familyGuid: 'old-db' });
  const droppedLog = rec('log', 9_000_100n, 9_000_900n, 60, { familyGuid: 'old-db' });
  const full = rec('full', 37_000n, 37_100n, 600, { familyGuid: 'new-db' });
  const log = rec('log', 37_100n, 38_000n, 660, { familyGuid: 'new-db' });
  assert.deepEqual(planRestore([dropped, droppedLog, full, log], latest).steps, [full, log]);
});

void it('walks overlapping logs of two replicas without trying every combination', () => {
  // Two replicas back up the same log every step; a target past the end fails every path, and a
  // walk that retried each combination would take 2^40 tries.
  const full = rec('full', 100n, 200n, 0);
  const logs: BackupSetRecord[] = [];
  for (let i = 0; i < 40; i++) {
    const first = 200n + BigInt(i) * 100n;
    logs.push(rec('log', first, first + 100n, 10 + i, { server: 'sql1' }));
    logs.push(rec('log', first, first + 100n, 10 + i, { server: 'sql2' }));
  }
  assert.throws(
    () => planRestore([full, ...logs], { kind: 'time', at: minute(500) }),
    reason('TAIL_LOG_NEEDED'),
  );
});

void it('refuses to stop inside a log with bulk-logged changes, naming the nearest points', () => {
  const full = rec('full', 100n, 200n, 10);
  const l1 = rec('log', 200n, 300n, 20);
  const bulk = rec('log', 300n, 400n, 30, { hasBulkLoggedData: true });
  const inside: RestoreTarget = { kind: 'time', at: minute(25) };
  assert.throws(
    () => planRestore([full, l1, bulk], inside),
    (e: unknown) =>
      reason('STOP_IN_BULK_LOGGED_LOG')(e) &&
      (e as Error).message.includes(minute(20).toISOString()) &&
      (e as Error).message.includes(minute(30).toISOString()),
  );
  assert.throws(
    () => planRestore([full, l1, bulk], { kind: 'lsn', lsn: 350n }),
    reason('STOP_IN_BULK_LOGGED_LOG'),
  );
  // Both nearest points plan: the end of the log before it, and the whole bulk-logged log.
  assert.deepEqual(planRestore([full, l1, bulk], { kind: 'time', at: minute(20) }).steps, [
    full,
    l1,
  ]);
  const atEnd = planRestore([full, l1, bulk], { kind: 'time', at: minute(30) });
  assert.deepEqual(atEnd.steps, [full, l1, bulk]);
  assert.equal(atEnd.stopAt, null);
});

void it('plans exactly to a differential on its base full when a copy-only full was taken in between', () => {
  const full = rec('full', 100n, 200n, 10);
  const copy = rec('full', 300n, 320n, 20, { isCopyOnly: true, databaseBackupLsn: 100n });
  const diff = rec('diff', 400n, 420n, 30, {
    databaseBackupLsn: 100n,
    differentialBaseGuid: full.backupSetGuid,
  });
  const entries = [full, copy, diff].map((record, i) => ({ record, backupId: `id${i}` }));
  const catalog: SqlServerCatalog = {
    entries,
    records: entries.map((e) => e.record),
    unrestorable: [],
    entryOf: (r) => entries.find((e) => e.record === r)!,
  };
  const plan = planFor(catalog, { target: latest, backupId: 'id2' }, 'sales');
  assert.deepEqual(plan.steps, [full, diff]);
  assert.equal(plan.stopAt, null);
  assert.deepEqual(planFor(catalog, { target: latest, backupId: 'id1' }, 'sales').steps, [copy]);
  assert.throws(
    () => planToDataBackup([copy, diff], diff),
    (e: unknown) =>
      reason('NO_DIFFERENTIAL_BASE')(e) && (e as Error).message.includes(full.backupSetGuid),
  );
});

/**
 * 00:00 full and hourly logs on fork A; at 03:30 the database was restored in place to 01:30
 * (LSN 350, inside l2): fork B starts there; b1 (its first backup, started 03:59) crosses into it.
 */
function forkedHistory() {
  const A = 'aaaaaaaa-0000-4000-8000-00000000000a';
  const B = 'bbbbbbbb-0000-4000-8000-00000000000b';
  const onA = { recoveryForkId: A, firstRecoveryForkId: A };
  const onB = { recoveryForkId: B, firstRecoveryForkId: B };
  const full = rec('full', 100n, 200n, 0, { ...onA, checkpointLsn: 100n });
  const l1 = rec('log', 200n, 300n, 60, onA);
  const l2 = rec('log', 300n, 400n, 120, onA);
  const l3 = rec('log', 400n, 500n, 180, onA);
  const b1 = rec('log', 300n, 360n, 240, { firstRecoveryForkId: A, recoveryForkId: B });
  const b2 = rec('log', 360n, 420n, 300, onB);
  return { A, B, onA, onB, full, l1, l2, l3, b1, b2 };
}

void it('leaves out a differential of the abandoned branch when the target is on the new fork', () => {
  const { onA, full, l1, l2, l3, b1, b2 } = forkedHistory();
  // 02:05: a differential on fork A, past the fork point (LSN 350): not on fork B's branch.
  const diff = rec('diff', 440n, 450n, 125, {
    ...onA,
    databaseBackupLsn: 100n,
    differentialBaseGuid: full.backupSetGuid,
  });
  const history = [full, l1, l2, diff, l3, b1, b2];
  assert.deepEqual(planRestore(history, latest).steps, [full, l1, b1, b2]);
  const at = planRestore(history, { kind: 'time', at: minute(290) });
  assert.deepEqual(at.steps, [full, l1, b1, b2]);
  assert.deepEqual(at.stopAt, minute(290));
  // On fork A, before the restore, the differential still serves.
  assert.deepEqual(planRestore(history, { kind: 'time', at: minute(170) }).steps, [full, diff, l3]);
  // An older differential, before the fork point, serves on fork B.
  const early = rec('diff', 320n, 330n, 70, {
    ...onA,
    databaseBackupLsn: 100n,
    differentialBaseGuid: full.backupSetGuid,
  });
  assert.deepEqual(planRestore([...history, early], latest).steps, [full, early, b1, b2]);
});

void it('refuses a time between the last backup on a fork and the restore that replaced it', () => {
  const { full, l1, l2, l3, b1, b2 } = forkedHistory();
  const history = [full, l1, l2, l3, b1, b2];
  // 03:20 was still on fork A (the restore came at 03:30), past its last log backup (03:00): fork
  // B's log would STOPAT 03:20 at the fork point, the state of 01:30.
  assert.throws(
    () => planRestore(history, { kind: 'time', at: minute(200) }),
    (e: unknown) =>
      reason('TARGET_BETWEEN_FORKS')(e) &&
      (e as Error).message.includes(minute(180).toISOString()) &&
      (e as Error).message.includes(minute(239).toISOString()),
  );
  // The nearest points on either side plan.
  assert.deepEqual(planRestore(history, { kind: 'time', at: minute(180) }).steps, [
    full,
    l1,
    l2,
    l3,
  ]);
  assert.deepEqual(planRestore(history, { kind: 'time', at: minute(239) }).steps, [full, l1, b1]);
});

void it('restores an LSN on both forks on the newest, and says it is ambiguous', () => {
  const { A, B, full, l1, l2, l3, b1, b2 } = forkedHistory();
  const plan = planRestore([full, l1, l2, l3, b1, b2], { kind: 'lsn', lsn: 355n });
  assert.deepEqual(plan.steps, [full, l1, b1]);
  assert.equal(plan.stopAtLsn, 355n);
  const warning = plan.warnings.join('\n');
  assert.match(warning, new RegExp(`several recovery forks.*${A}`));
  assert.match(warning, new RegExp(B));
  // An LSN only the abandoned fork reached plans there, without a warning.
  const onlyA = planRestore([full, l1, l2, l3, b1, b2], { kind: 'lsn', lsn: 450n });
  assert.deepEqual(onlyA.steps, [full, l1, l2, l3]);
  assert.deepEqual(onlyA.warnings, []);
});

it('plans a chain of thousands of logs after one full (a month of logs every 15 minutes and more)', () => {
  const history = [rec('full', 100n, 200n, 0)];
  const count = 6000;
  for (let i = 0; i < count; i++)
    history.push(rec('log', 200n + BigInt(i) * 100n, 300n + BigInt(i) * 100n, 30 + i * 15));
  const plan = planRestore(history, { kind: 'latest' });
  assert.equal(plan.steps.length, count + 1);
  assert.equal(plan.steps.at(-1), history.at(-1));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minute, rec } from '../../../test/sqlserver/build.ts';
import { planRestore } from './chain.ts';
import { crossedBy, crossedWarnings } from './plan-path.ts';

const A = 'aaaaaaaa-0000-0000-0000-00000000000a';
const B = 'bbbbbbbb-0000-0000-0000-00000000000b';
const onFork = (fork: string) => ({ recoveryForkId: fork, firstRecoveryForkId: fork });
const nul = { files: ['NUL'] };

/**
 * Fork A: a full, logs, a log emptied to NUL. A restore to a point in time made fork B, from the
 * LSNs before that log: a full on B, a log, a log emptied to NUL there too, a differential that
 * bridges it, and a log after it.
 */
function history() {
  const fullA = rec('full', 100n, 200n, 10, onFork(A));
  const logsA = [rec('log', 150n, 300n, 20, onFork(A)), rec('log', 300n, 400n, 30, onFork(A))];
  const nulA = rec('log', 400n, 500n, 40, { ...onFork(A), ...nul });
  const fullB = rec('full', 360n, 380n, 60, onFork(B));
  const logB = rec('log', 370n, 450n, 70, onFork(B));
  const nulB = rec('log', 450n, 520n, 80, { ...onFork(B), ...nul });
  const diffB = rec('diff', 530n, 540n, 90, {
    ...onFork(B),
    differentialBaseGuid: fullB.backupSetGuid,
  });
  const lastB = rec('log', 520n, 600n, 100, onFork(B));
  return {
    records: [fullA, ...logsA, fullB, logB, diffB, lastB],
    fullA,
    nulA,
    nulB,
    logsA,
  };
}

void test('a plan crosses the unrestorable sets after its full and up to its end, on its fork', () => {
  const { records, nulA, nulB } = history();
  const plan = planRestore(records, { kind: 'latest' }, { unrestorable: [nulA, nulB] });
  assert.deepEqual(
    plan.steps.map((s) => s.type),
    ['full', 'diff', 'log'],
  );
  // The differential bridges fork B's NUL log: still a break in the chain since the full.
  // Fork A's, at the same LSNs, lies on the branch the restore to a point in time abandoned.
  assert.deepEqual(crossedBy(plan, [nulA, nulB]), [nulB]);
  assert.match(
    crossedWarnings(plan, [nulA, nulB]).join('\n'),
    /^a log backup of Sales .*LSN 450 → 520.* written to NUL and discarded: the log chain breaks there/,
  );
});

void test('a plan does not cross the sets its full holds, or after its end, or on another fork', () => {
  const { records, nulA, nulB, fullA, logsA } = history();
  // A time on fork A, before the restore that made fork B: its NUL log starts where the plan
  // ends, and fork B's lies after it.
  const upTo = planRestore(records, { kind: 'time', at: minute(25) }, { unrestorable: [nulA] });
  assert.deepEqual(upTo.steps, [fullA, ...logsA]);
  assert.deepEqual(crossedBy(upTo, [nulA, nulB]), []);
  // A set of fork B at LSNs the plan crosses on fork A is on another branch.
  const elsewhere = rec('log', 320n, 330n, 65, { ...onFork(B), ...nul });
  assert.deepEqual(crossedBy(upTo, [elsewhere]), []);
  // A NUL log before the full, one the full holds the records of, and one of another database
  // are not on the path either.
  const covered = rec('log', 90n, 180n, 9, { ...onFork(A), ...nul });
  const before = rec('log', 50n, 100n, 5, { ...onFork(A), ...nul });
  const other = rec('log', 200n, 300n, 15, { ...onFork(A), ...nul, database: 'Other' });
  assert.deepEqual(crossedBy(upTo, [before, covered, other]), []);
  // Forks unknown: the LSNs alone decide.
  const unknown = rec('log', 250n, 260n, 15, nul);
  assert.deepEqual(crossedBy(upTo, [unknown]), [unknown]);
});

void test('a plan to latest crosses the sets after its end: the newest log written to NUL is why it ends there', () => {
  const { fullA, logsA, nulA } = history();
  const latest = planRestore([fullA, ...logsA], { kind: 'latest' }, { unrestorable: [nulA] });
  assert.deepEqual(latest.steps, [fullA, ...logsA]);
  assert.deepEqual(crossedBy(latest, [nulA]), [nulA]);
  // To a time inside the last log, what came after the target does not matter.
  const upTo = planRestore(
    [fullA, ...logsA],
    { kind: 'time', at: minute(25) },
    { unrestorable: [nulA] },
  );
  assert.deepEqual(crossedBy(upTo, [nulA]), []);
});

void test('a set starting on the fork a restore to a point in time left is on the plan when it ends on the plan’s fork', () => {
  const fullA = rec('full', 100n, 200n, 10, onFork(A));
  const logA = rec('log', 150n, 400n, 20, onFork(A));
  const fullB = rec('full', 360n, 380n, 60, onFork(B));
  // The first log after the restore crosses the fork point: it starts on A and ends on B.
  const nulB = rec('log', 350n, 450n, 70, { firstRecoveryForkId: A, recoveryForkId: B, ...nul });
  const plan = planRestore([fullA, logA, fullB], { kind: 'latest' }, { unrestorable: [nulB] });
  assert.deepEqual(plan.steps, [fullB]);
  assert.deepEqual(crossedBy(plan, [nulB]), [nulB]);
});

void test('a set a differential bridges is placed by that differential’s forks', () => {
  const fullA = rec('full', 100n, 200n, 10, onFork(A));
  const nulB = rec('log', 420n, 480n, 50, { ...onFork(B), ...nul });
  const diffB = rec('diff', 500n, 510n, 60, {
    firstRecoveryForkId: A,
    recoveryForkId: B,
    differentialBaseGuid: fullA.backupSetGuid,
  });
  const logB = rec('log', 505n, 600n, 70, onFork(B));
  const plan = planRestore([fullA, diffB, logB], { kind: 'latest' }, { unrestorable: [nulB] });
  assert.deepEqual(plan.steps, [fullA, diffB, logB]);
  assert.deepEqual(crossedBy(plan, [nulB]), [nulB]);
});

void test('to latest, a newer set of the database made again (another lineage) is on the plan', () => {
  const old = { ...onFork(A), familyGuid: 'eeeeeeee-0000-0000-0000-00000000000e' };
  const full = rec('full', 100n, 200n, 10, old);
  const log = rec('log', 150n, 300n, 20, old);
  // The database dropped and made again; hbr's first full of it lost its commit.
  const lost = rec('full', 20n, 40n, 90, { familyGuid: 'ffffffff-0000-0000-0000-00000000000f' });
  const latest = planRestore([full, log], { kind: 'latest' }, { unrestorable: [lost] });
  assert.deepEqual(latest.steps, [full, log]);
  assert.deepEqual(crossedBy(latest, [lost]), [lost]);
  const upTo = planRestore([full, log], { kind: 'time', at: minute(15) }, { unrestorable: [lost] });
  assert.deepEqual(crossedBy(upTo, [lost]), []);
});

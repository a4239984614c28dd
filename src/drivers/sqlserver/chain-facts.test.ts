import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'lossless-json';
import {
  diffRestoreRows,
  diffRestoreState as state,
  forkB,
  forkB1,
  forkB2,
  forkB3,
  forkC,
  forkedHistory,
  logOnFork,
  onForkB,
  restoredInside23,
} from '../../../test/sqlserver/forked-history.ts';
import { chainFacts } from './chain-facts.ts';
import type { DatabaseState } from './eligibility.ts';
import { parseHistoryJson } from './history.ts';

// DiffRestore.json as dbatools exported it, without fork ids (see forked-history.ts).

/**
 * The facts when the backups whose file ends with one of `emptied` were written to NUL instead,
 * and those ending with one of `unseen` are not in the history (hbr never saw them).
 */
function factsWith(emptied: readonly string[], unseen: readonly string[] = []) {
  const { records, discarded } = forkedHistory([], { emptied, unseen, forks: false });
  return chainFacts(records, discarded, state);
}

void test('a history whose chain reaches the last log backup has no gap and a differential base', () => {
  assert.deepEqual(factsWith([]), { logGap: null, differentialBaseGap: null });
});

void test('a log backup to NUL after the newest base (the differential) is a gap, named', () => {
  const { logGap, differentialBaseGap } = factsWith(['_22.trn']);
  assert.equal(differentialBaseGap, null);
  assert.deepEqual(logGap, {
    why:
      'the log chain since the diff backup at 2017-05-04T07:49:48.000Z (5d078de5-f6d0-4d8f-8c9f-ae5baf22bd54) has a gap: ' +
      'the log backup at 2017-05-04T07:54:48.000Z (LSN 34000000023200001 → 34000000024800001, b845d9c8-e9fa-49cf-9148-ed1283610935), ' +
      'written to the null device (NUL) and discarded',
    named: true,
  });
  // The last log too: nothing after it, and no tail-log backup could replace it.
  assert.match(
    factsWith(['_25.trn']).logGap?.why ?? '',
    /has a gap: the log backup at 2017-05-04T07:59:48\.000Z .*written to the null device/,
  );
});

void test('a log backup to NUL before the newest base is no gap for a log now: the differential bridges it', () => {
  assert.deepEqual(factsWith(['_2.trn']), { logGap: null, differentialBaseGap: null });
});

void test('a log backup hbr never saw is a gap, said without a name', () => {
  const { logGap } = factsWith([], ['_22.trn']);
  assert.match(
    logGap?.why ?? '',
    /^the log chain since the diff backup at .* does not reach LSN 34000000028400001, where a log backup now would start: a log backup hbr has not seen holds log records before it/,
  );
  assert.equal(logGap?.named, false);
});

void test('a full written to NUL is no differential base, and no base for the log chain', () => {
  const { logGap, differentialBaseGap } = factsWith(['RestoreTimeDiff.bak']);
  assert.match(
    differentialBaseGap ?? '',
    /^the base of a differential now is the full backup at 2017-05-04T07:42:17\.000Z .*, written to the null device \(NUL\) and discarded$/,
  );
  assert.match(logGap?.why ?? '', /^no full backup a restore can read starts the log chain/);
});

void test('a last log backup with bulk-logged changes (which no restore can stop inside) is no gap', () => {
  // A BULK_LOGGED database with bulk work in each interval: every second log backup was taken
  // as a differential, the planner's refusal to stop inside such a log read as a gap.
  const rows = diffRestoreRows().map((row) =>
    String(row.BackupPath).endsWith('_25.trn') ? { ...row, HasBulkLoggedData: true } : row,
  );
  const { records, discarded } = parseHistoryJson(stringify(rows) ?? '', 'DiffRestore.json');
  const bulkLogged = { ...state, recoveryModel: 'BULK_LOGGED' as const };
  assert.deepEqual(chainFacts(records, discarded, bulkLogged), {
    logGap: null,
    differentialBaseGap: null,
  });
});

/** The facts for the forked history (`forked-history.ts`), `emptied` written to NUL, `unseen` missing. */
function forkedFacts(
  added: readonly Record<string, unknown>[],
  at: DatabaseState,
  emptied: readonly string[] = [],
  unseen: readonly string[] = [],
) {
  const { records, discarded } = forkedHistory(added, { emptied, unseen });
  return chainFacts(records, discarded, at);
}

void test('after a restore to a point in time, the log chain on the new fork has no gap, whatever the abandoned fork holds', () => {
  const history = [forkB1, forkB2, forkB3];
  assert.deepEqual(forkedFacts(history, onForkB), { logGap: null, differentialBaseGap: null });
  // _24, past the fork point on fork A, written to NUL: no restore of fork B goes through it.
  assert.deepEqual(forkedFacts(history, onForkB, ['_24.trn']), {
    logGap: null,
    differentialBaseGap: null,
  });
});

void test('a log backup to NUL on the new fork is a gap, though logs of the abandoned fork span its LSNs', () => {
  const gap =
    'the log chain since the diff backup at 2017-05-04T07:49:48.000Z (5d078de5-f6d0-4d8f-8c9f-ae5baf22bd54) has a gap: ' +
    'the log backup at 2017-05-04T08:30:00.000Z (LSN 34000000025900001 → 34000000026200001, bbbbbbbb-0000-4000-8000-0000000000b2), ' +
    'written to the null device (NUL) and discarded';
  const history = [forkB1, forkB2, forkB3];
  assert.deepEqual(forkedFacts(history, onForkB, ['_B2.trn']).logGap, { why: gap, named: true });
  // A history without fork points (dbatools' export): B1 goes on from what ends at its FirstLSN.
  const { ForkPointLSN: _, ...withoutPoint } = forkB1;
  assert.deepEqual(forkedFacts([withoutPoint, forkB2, forkB3], onForkB, ['_B2.trn']).logGap, {
    why: gap,
    named: true,
  });
});

void test('a log backup on the new fork hbr never saw is a gap, and a set to NUL on the abandoned fork is not named for it', () => {
  const { logGap } = forkedFacts([forkB1, forkB2, forkB3], onForkB, ['_24.trn'], ['_B2.trn']);
  assert.match(
    logGap?.why ?? '',
    /^the log chain since the diff backup at .* does not reach LSN 34000000026500001, where a log backup now would start: a log backup hbr has not seen/,
  );
});

void test('right after the restore, before a log backup on the new fork, the chain up to the fork point counts', () => {
  // The database names the fork it left and the fork point; the next log starts where _23 does.
  const restored = restoredInside23;
  assert.deepEqual(forkedFacts([], restored), { logGap: null, differentialBaseGap: null });
  assert.match(
    forkedFacts([], restored, ['_22.trn']).logGap?.why ?? '',
    /has a gap: the log backup at 2017-05-04T07:54:48\.000Z .*b845d9c8-e9fa-49cf-9148-ed1283610935\), written to the null device/,
  );
});

/*
 * A second restore to a point in time, on fork B after B3: at 09:00 to LSN 34000000026000001,
 * inside B2, and on on fork C. C1 starts where B2 starts and crosses into C at that point; C2
 * follows. The path back: C, B up to 26000001, A up to 25500001.
 */
const intoC = { from: forkB, point: '34000000026000001' };
const forkC1 = logOnFork(
  forkC,
  'C1',
  ['34000000025900001', '34000000026100001'],
  '2017-05-04T09:15:00Z',
  intoC,
);
const forkC2 = logOnFork(
  forkC,
  'C2',
  ['34000000026100001', '34000000026300001'],
  '2017-05-04T09:30:00Z',
);
const onForkC: DatabaseState = {
  ...onForkB,
  lastLogBackupLsn: 34000000026300001n,
  recoveryForkGuid: forkC,
  firstRecoveryForkGuid: forkC,
};

void test('after two restores to points in time (fork A, then B, then C) the chain is followed back through both fork points', () => {
  const history = [forkB1, forkB2, forkB3, forkC1, forkC2];
  assert.deepEqual(forkedFacts(history, onForkC), { logGap: null, differentialBaseGap: null });
  // B1, on fork B before C's fork point, is on the path: written to NUL, it is the gap, named.
  const b1 = forkedFacts(history, onForkC, ['_B1.trn']).logGap;
  assert.equal(b1?.named, true);
  assert.match(
    b1?.why ?? '',
    /has a gap: the log backup at 2017-05-04T08:15:00\.000Z .*bbbbbbbb-0000-4000-8000-0000000000b1\), written to the null device/,
  );
  // B3 and _24 lie on the forks C and B abandoned, past their fork points: no gap.
  assert.deepEqual(forkedFacts(history, onForkC, ['_B3.trn', '_24.trn']), {
    logGap: null,
    differentialBaseGap: null,
  });
});

void test('sets with no fork id (older history) count on any fork path', () => {
  // The fixture as dbatools exported it, without fork ids; only the logs since the restore have them.
  const facts = (emptied: readonly string[] = []) => {
    const { records, discarded } = forkedHistory([forkB1, forkB2, forkB3], {
      emptied,
      forks: false,
    });
    return chainFacts(records, discarded, onForkB);
  };
  assert.deepEqual(facts(), { logGap: null, differentialBaseGap: null });
  const gap = facts(['_22.trn']).logGap;
  assert.equal(gap?.named, true);
  assert.match(
    gap?.why ?? '',
    /has a gap: the log backup at 2017-05-04T07:54:48\.000Z .*b845d9c8-e9fa-49cf-9148-ed1283610935\), written to the null device/,
  );
});

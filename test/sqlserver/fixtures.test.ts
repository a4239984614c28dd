/**
 * The planner on real histories captured by dbatools (test/fixtures/sqlserver/dbatools, a copy of the shared fixtures). Each
 * test states the outcome derived by hand from SQL Server's rules before asserting it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PlanError } from '../../src/errors.ts';
import type { BackupSetRecord } from '../../src/drivers/sqlserver/backup-set.ts';
import type { SqlServerCatalog } from '../../src/drivers/sqlserver/catalog.ts';
import { planRestore } from '../../src/drivers/sqlserver/chain.ts';
import { parseHistoryJson } from '../../src/drivers/sqlserver/history.ts';
import type { RestoreTarget } from '../../src/drivers/sqlserver/plan.ts';
import { planFor } from '../../src/drivers/sqlserver/restore-source.ts';

const dir = new URL('../fixtures/sqlserver/dbatools/', import.meta.url);
const load = (name: string) => parseHistoryJson(readFileSync(new URL(name, dir), 'utf8'), name);
const at = (iso: string): RestoreTarget => ({ kind: 'time', at: new Date(iso) });
const latest: RestoreTarget = { kind: 'latest' };
/** The file names (last path segment) of a plan's steps, or GUID prefixes when there is no file. */
const names = (plan: ReturnType<typeof planRestore>): string[] =>
  plan.steps.map((s) => s.files[0]?.split('\\').pop() ?? s.backupSetGuid.slice(0, 8));

/*
 * DiffRestore.json / AgDiffRestore.json / RestoreCommaIssues.json hold the same chain (LSNs shown
 * without the common prefix 340000000; all on 2017-05-04, UTC):
 *   full  RestoreTimeDiff.bak    06900179–14400001  ckpt 06900179            ends 07:42:17
 *   log   _1.trn                 06900179–16800001  (started during the full) ends 07:44:47
 *   log   _2.trn                 16800001–19700001                           ends 07:47:17
 *   log   _3.trn                 19700001–21300001                           ends 07:49:47
 *   diff  RestoreTimeDiff2.bak   21900001–22200001  DatabaseBackupLSN 06900179 = full's ckpt
 *                                                                             ends 07:49:48
 *   log   _21.trn                21300001–23200001                           ends 07:52:18
 *   log   _22.trn                23200001–24800001                           ends 07:54:48
 *   log   _23.trn                24800001–26400001                           ends 07:57:18
 *   log   _24.trn                26400001–27000001                           ends 07:57:18
 *   log   _25.trn                27000001–28400001                           ends 07:59:48
 */
const diffChain = ['DiffRestore.json', 'AgDiffRestore.json', 'RestoreCommaIssues.json'];

for (const file of diffChain) {
  void describe(`planning ${file}`, () => {
    const { records } = load(file);

    // Latest: the only full; the diff matches it (DatabaseBackupLSN = full CheckpointLSN), so it
    // replaces logs _1.._3; the first log must satisfy FirstLSN <= 22200001 < LastLSN → _21
    // (21300001–23200001), then _22.._25 contiguous. No STOPAT.
    void it('restores latest as full, diff, then logs _21 to _25 without STOPAT', () => {
      const plan = planRestore(records, latest);
      assert.deepEqual(names(plan), [
        'RestoreTimeDiff.bak',
        'RestoreTimeDiff2.bak',
        'RestoreTimeDiff_21.trn',
        'RestoreTimeDiff_22.trn',
        'RestoreTimeDiff_23.trn',
        'RestoreTimeDiff_24.trn',
        'RestoreTimeDiff_25.trn',
      ]);
      assert.deepEqual(
        plan.steps.map((s) => s.type),
        ['full', 'diff', 'log', 'log', 'log', 'log', 'log'],
      );
      assert.equal(plan.stopAt, null);
    });

    // 07:46:00 lies between _1 (07:44:47) and _2 (07:47:17); the diff ends later (07:49:48) so
    // it cannot be used; logs from the full's LastLSN 14400001: _1 (which started before the full
    // ended — it overlaps) then _2, the first log ending at or after 07:46. STOPAT 07:46.
    void it('restores 07:46 as full, _1, _2 with STOPAT, skipping the later diff', () => {
      const plan = planRestore(records, at('2017-05-04T07:46:00Z'));
      assert.deepEqual(names(plan), [
        'RestoreTimeDiff.bak',
        'RestoreTimeDiff_1.trn',
        'RestoreTimeDiff_2.trn',
      ]);
      assert.equal(plan.stopAt?.toISOString(), '2017-05-04T07:46:00.000Z');
    });

    // 07:53:00 lies between _21 (07:52:18) and _22 (07:54:48); the diff ended before → full,
    // diff, _21, _22 with STOPAT.
    void it('restores 07:53 as full, diff, _21, _22 with STOPAT', () => {
      const plan = planRestore(records, at('2017-05-04T07:53:00Z'));
      assert.deepEqual(names(plan), [
        'RestoreTimeDiff.bak',
        'RestoreTimeDiff2.bak',
        'RestoreTimeDiff_21.trn',
        'RestoreTimeDiff_22.trn',
      ]);
      assert.equal(plan.stopAt?.toISOString(), '2017-05-04T07:53:00.000Z');
    });

    // 07:57:18 is the finish of both _23 and _24: the first log ending at or after T is _23.
    void it('stops at the first of two logs finishing at the target second', () => {
      const plan = planRestore(records, at('2017-05-04T07:57:18Z'));
      assert.equal(names(plan).at(-1), 'RestoreTimeDiff_23.trn');
    });

    // _23 and _24 both finish at 07:57:18 (msdb keeps whole seconds). With _25 written to NUL,
    // latest is the end of _24, the log with the higher LastLSN: _23 ends before it.
    void it('restores latest to _24, not _23 finishing in the same second, when _25 went to NUL', () => {
      const isLast = (r: BackupSetRecord): boolean => r.files[0]?.endsWith('_25.trn') ?? false;
      const plan = planRestore(
        records.filter((r) => !isLast(r)),
        latest,
        { unrestorable: records.filter(isLast) },
      );
      assert.equal(names(plan).at(-1), 'RestoreTimeDiff_24.trn');
    });

    // Finish times do not order logs finishing in the same second: the LSNs do.
    void it('restores latest to the log with the highest LastLSN when the last three finish in the same second', () => {
      const sameSecond = records.map((r) =>
        r.files[0]?.endsWith('_25.trn') ? { ...r, finish: new Date('2017-05-04T07:57:18Z') } : r,
      );
      assert.deepEqual(names(planRestore(sameSecond, latest)).slice(-3), [
        'RestoreTimeDiff_23.trn',
        'RestoreTimeDiff_24.trn',
        'RestoreTimeDiff_25.trn',
      ]);
    });

    // Before the full ended (07:42:17) nothing can be restored.
    void it('refuses 07:40 with NO_FULL_BEFORE_TARGET', () => {
      assert.throws(
        () => planRestore(records, at('2017-05-04T07:40:00Z')),
        (e: unknown) => e instanceof PlanError && e.reason === 'NO_FULL_BEFORE_TARGET',
      );
    });

    // After the last log (07:59:48) only a tail-log backup could cover the target.
    void it('refuses 08:30 with TAIL_LOG_NEEDED naming the last log', () => {
      assert.throws(
        () => planRestore(records, at('2017-05-04T08:30:00Z')),
        (e: unknown) =>
          e instanceof PlanError &&
          e.reason === 'TAIL_LOG_NEEDED' &&
          e.message.includes('34000000028400001'),
      );
    });

    // Without _22 (23200001–24800001) the chain from the diff ends at 23200001 and _23 starts at
    // 24800001: latest is a gap naming both LSNs; 07:52:00 (inside _21) is still reachable.
    void it('reports the gap between 34000000023200001 and 34000000024800001 when _22 is missing', () => {
      const without = records.filter((r) => !r.files[0]?.endsWith('_22.trn'));
      assert.throws(
        () => planRestore(without, latest),
        (e: unknown) =>
          e instanceof PlanError &&
          e.reason === 'LSN_GAP' &&
          e.message.includes('34000000023200001') &&
          e.message.includes('34000000024800001'),
      );
      const before = planRestore(without, at('2017-05-04T07:52:00Z'));
      assert.equal(names(before).at(-1), 'RestoreTimeDiff_21.trn');
    });
  });
}

void it('treats the two availability-group replicas of AgDiffRestore.json as one database', () => {
  // The full and diff were taken on Server1, the logs on Server2.
  const plan = planRestore(load('AgDiffRestore.json').records, latest);
  assert.deepEqual(
    plan.steps.map((s) => s.server),
    ['Server1', 'Server1', 'Server2', 'Server2', 'Server2', 'Server2', 'Server2'],
  );
});

void it('keeps the commas and spaces of RestoreCommaIssues.json names intact', () => {
  const plan = planRestore(load('RestoreCommaIssues.json').records, latest, {
    database: 'test, COMMAND and conquer', // case and the trailing space do not matter
  });
  assert.equal(plan.database, 'Test, command and conquer ');
  assert.equal(plan.steps[0]!.server, 'TestSQL1\\Testinstance1,1234');
  assert.equal(
    plan.steps[0]!.files[0],
    'C:\\dbatools\\Test, command and conquer\\RestoreTimeDiff.bak',
  );
});

/*
 * EmptyTLogData.json (LSNs without the common prefix 149750000002; UTC):
 *   full F1  68200036–69800001  ends 04-26 19:01:03
 *   full F2  70800036–72400001  ends 04-27 19:01:16  (DatabaseBackupLSN = F1's checkpoint)
 *   log  LA  68000001–70600001  ends 04-26 19:15:00
 *   log  LB  70600001–73200001  ends 04-27 19:15:00
 *   30 empty logs (FirstLSN = LastLSN): 68000001 (04-26 16:45–19:00), 70600001 (04-27
 *   16:45–19:00), 73200001 (04-28 10:00–12:15).
 */
void describe('planning EmptyTLogData.json', () => {
  const { records } = load('EmptyTLogData.json');

  // Latest: F2 has the highest LastLSN; LB covers 72400001 (70600001 <= 72400001 < 73200001);
  // the empty logs are dropped. Two steps.
  void it('restores latest as F2 then LB, empty logs dropped', () => {
    const plan = planRestore(records, latest);
    assert.deepEqual(names(plan), ['f3907981', 'b5ca8726']);
  });

  // 04-27 12:00 is before F2 ended, so F1; LA covers F1's LastLSN 69800001; LB continues at
  // 70600001 and is the first log ending after T. The empty logs at 70600001 in between are not
  // applied. STOPAT 12:00.
  void it('restores 04-27 12:00 as F1, LA, LB with STOPAT', () => {
    const plan = planRestore(records, at('2017-04-27T12:00:00Z'));
    assert.deepEqual(names(plan), ['b7e35ab2', '294f1724', 'b5ca8726']);
    assert.equal(plan.stopAt?.toISOString(), '2017-04-27T12:00:00.000Z');
  });

  // 04-26 19:10 lies between F1's end and LA's end: F1, LA with STOPAT.
  void it('restores 04-26 19:10 as F1 then LA', () => {
    const plan = planRestore(records, at('2017-04-26T19:10:00Z'));
    assert.deepEqual(names(plan), ['b7e35ab2', '294f1724']);
  });

  // 04-28 11:00 is after LB ended, but empty logs starting at LB's LastLSN 73200001 end after
  // 11:00: nothing changed since LB, so F2 + LB restore that moment exactly. STOPAT must be left
  // out (a STOPAT after the last record would leave the database RESTORING).
  void it('covers 04-28 11:00 through the empty logs after LB without STOPAT', () => {
    const plan = planRestore(records, at('2017-04-28T11:00:00Z'));
    assert.deepEqual(names(plan), ['f3907981', 'b5ca8726']);
    assert.equal(plan.stopAt, null);
    assert.match(plan.warnings.join('\n'), /did not change after 2017-04-27T19:15:00/);
  });

  // 04-28 13:00 is after the last empty log (12:15): a tail-log backup is needed.
  void it('refuses 04-28 13:00 with TAIL_LOG_NEEDED', () => {
    assert.throws(
      () => planRestore(records, at('2017-04-28T13:00:00Z')),
      (e: unknown) => e instanceof PlanError && e.reason === 'TAIL_LOG_NEEDED',
    );
  });
});

/** The catalog `restore BACKUP_ID` plans from, each set an hbr backup whose id is its file name. */
function catalogOf(records: readonly BackupSetRecord[]): SqlServerCatalog {
  const entries = records.map((record) => ({
    record,
    backupId: record.files[0]?.split('\\').pop() ?? record.backupSetGuid,
  }));
  return {
    entries,
    records: entries.map((e) => e.record),
    unrestorable: [],
    entryOf: (r) => entries.find((e) => e.record === r)!,
  };
}

/*
 * Restoring to one log backup by id, on DiffRestore.json after the database was restored to 07:46
 * (inside _2) and went on on a new recovery fork B: the fixture's sets are on fork A; on fork B a
 * full FB (18000050–18200001, 08:20) and a log MB (18200001–18400001, 08:25) were taken. FB ends
 * below _2 and _22, so it ranks above the original full; but its chain is on fork B.
 */
void describe('restoring DiffRestore.json to a log backup by id after a restore to a point in time', () => {
  const forkA = 'aaaaaaaa-0000-4000-8000-000000000001';
  const forkB = 'bbbbbbbb-0000-4000-8000-000000000002';
  const onA = load('DiffRestore.json').records.map((r) => ({
    ...r,
    firstRecoveryForkId: forkA,
    recoveryForkId: forkA,
  }));
  const full = onA.find((r) => r.type === 'full')!;
  const later = (guid: string, type: 'full' | 'log', first: bigint, last: bigint, at: string) => ({
    ...full,
    backupSetGuid: guid,
    type,
    firstLsn: first,
    lastLsn: last,
    checkpointLsn: type === 'full' ? first : null,
    start: new Date(at),
    finish: new Date(at),
    files: [`C:\\backup\\RestoreTimeDiff_B_${type}.${type === 'full' ? 'bak' : 'trn'}`],
    firstRecoveryForkId: forkB,
    recoveryForkId: forkB,
  });
  const fb = later(
    'bbbb0001-0000-4000-8000-000000000000',
    'full',
    34000000018000050n,
    34000000018200001n,
    '2017-05-04T08:20:00Z',
  );
  const mb = later(
    'bbbb0002-0000-4000-8000-000000000000',
    'log',
    34000000018200001n,
    34000000018400001n,
    '2017-05-04T08:25:00Z',
  );
  const catalog = catalogOf([...onA, fb, mb]);
  const restoreTo = (id: string) =>
    planFor(catalog, { target: latest, backupId: id }, 'restore-time-diff');

  // _22 (fork A): the full, the diff (based on it), _21, _22; FB's chain never reaches it.
  void it('restores _22 through the full and diff of its own fork, not through the newer FB', () => {
    assert.deepEqual(names(restoreTo('RestoreTimeDiff_22.trn')), [
      'RestoreTimeDiff.bak',
      'RestoreTimeDiff2.bak',
      'RestoreTimeDiff_21.trn',
      'RestoreTimeDiff_22.trn',
    ]);
  });

  // _2 (fork A, 16800001–19700001) holds FB's LastLSN, but on fork A: full, _1, _2.
  void it('restores _2 as full, _1, _2', () => {
    assert.deepEqual(names(restoreTo('RestoreTimeDiff_2.trn')), [
      'RestoreTimeDiff.bak',
      'RestoreTimeDiff_1.trn',
      'RestoreTimeDiff_2.trn',
    ]);
  });

  void it('restores MB as FB then MB', () => {
    const plan = restoreTo('RestoreTimeDiff_B_log.trn');
    assert.deepEqual(names(plan), ['RestoreTimeDiff_B_full.bak', 'RestoreTimeDiff_B_log.trn']);
    assert.equal(plan.stopAt, null);
  });
});

// An empty log backup (FirstLSN = LastLSN) records that nothing changed since the log before it.
void describe('restoring EmptyTLogData.json to an empty log backup by id', () => {
  const { records } = load('EmptyTLogData.json');
  const catalog = catalogOf(records);
  const empty = (lsn: bigint, finish: string) =>
    records.find(
      (r) => r.firstLsn === lsn && r.lastLsn === lsn && r.finish.toISOString() === finish,
    )!.backupSetGuid;
  const restoreTo = (guid: string) =>
    planFor(catalog, { target: latest, backupId: guid }, 'pester');

  // 70600001 (04-27 18:00) is where LA ends: F1 then LA. F2 (LastLSN 72400001) is after it.
  void it('restores the empty log of 04-27 18:00 as F1 then LA, saying why', () => {
    const plan = restoreTo(empty(14975000000270600001n, '2017-04-27T18:00:00.000Z'));
    assert.deepEqual(names(plan), ['b7e35ab2', '294f1724']);
    assert.match(plan.warnings.join('\n'), /is empty \(no log records\)/);
  });

  // 73200001 (04-28 12:15) is where LB ends: F2 then LB.
  void it('restores the empty log of 04-28 12:15 as F2 then LB', () => {
    const plan = restoreTo(empty(14975000000273200001n, '2017-04-28T12:15:01.000Z'));
    assert.deepEqual(names(plan), ['f3907981', 'b5ca8726']);
  });

  // 68000001 (04-26 19:00) is before F1's LastLSN 69800001: no full of this history precedes it.
  void it('refuses the empty log of 04-26 19:00 with NO_FULL_BEFORE_TARGET', () => {
    assert.throws(
      () => restoreTo(empty(14975000000268000001n, '2017-04-26T19:00:01.000Z')),
      (e: unknown) => e instanceof PlanError && e.reason === 'NO_FULL_BEFORE_TARGET',
    );
  });
});

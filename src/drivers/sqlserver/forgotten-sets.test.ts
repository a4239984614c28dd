import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../../../test/helpers/temp.ts';
import { sqlBackup } from '../../../test/sqlserver/build.ts';
import { StoreError } from '../../errors.ts';
import { readForgotten, replaceForgotten } from '../../repository/forgotten.ts';
import { initRepository, openRepository } from '../../repository/repository.ts';
import { createLocalStore } from '../../stores/local.ts';
import type { Store } from '../../stores/types.ts';
import type { BackupSetRecord } from './backup-set.ts';
import { beyondEveryRestore, readForgottenSets, rememberForgotten } from './forgotten-sets.ts';
import { parseHistoryJson } from './history.ts';

/*
 * EmptyTLogData.json, a real history (dbatools), without its 30 empty logs (UTC, 2017):
 *   full F1  starts and ends 04-26 19:01:03
 *   log  LA  ends 04-26 19:15:00 (from before F1 to after it)
 *   full F2  starts and ends 04-27 19:01:16
 *   log  LB  ends 04-27 19:15:00
 */
const history = parseHistoryJson(
  readFileSync(
    new URL('../../../test/fixtures/sqlserver/dbatools/EmptyTLogData.json', import.meta.url),
    'utf8',
  ),
  'EmptyTLogData.json',
).records.filter((r) => r.firstLsn !== r.lastLsn);
const byGuid = (prefix: string): BackupSetRecord =>
  history.find((r) => r.backupSetGuid.startsWith(prefix))!;
const F1 = byGuid('b7e35ab2');
const F2 = byGuid('f3907981');
const LA = byGuid('294f1724');
const LB = byGuid('b5ca8726');
/** A log after LB, as hbr would take it next. */
const LC: BackupSetRecord = {
  ...LB,
  backupSetGuid: 'cccccccc-0000-4000-8000-00000000000c',
  firstLsn: LB.lastLsn,
  lastLsn: LB.lastLsn + 100n,
  start: new Date('2017-04-27T19:30:00Z'),
  finish: new Date('2017-04-27T19:30:00Z'),
};

describe('a set no restore can reach any more', () => {
  it('finished before every full a restore can start from started', () => {
    // F1 and LA gone: every plan starts at F2, the differentials are based on it.
    for (const set of [F1, LA]) assert.equal(beyondEveryRestore(set, [F2, LB]), true);
    // LA holds the log records from F1 on: a restore from F1 crosses it.
    assert.equal(beyondEveryRestore(LA, [F1, F2, LB]), false);
    // A set after the oldest full still counts, lost or not.
    for (const set of [LB, LC]) assert.equal(beyondEveryRestore(set, [F2, LB]), false);
  });

  it('is a conventional full only where a conventional full follows: else differentials may be based on it', () => {
    const copyOnly = { ...F2, isCopyOnly: true };
    assert.equal(beyondEveryRestore(F1, [copyOnly]), false);
    assert.equal(beyondEveryRestore(LA, [copyOnly]), true);
  });

  it('is none where no full is known', () => {
    assert.equal(beyondEveryRestore(LA, []), false);
    assert.equal(beyondEveryRestore(LA, [LB]), false);
  });
});

describe('what forget records of the SQL Server backups it removes', () => {
  const backups = [F1, LA, F2, LB, LC].map((set, n) => sqlBackup(set, n, []));
  const ids = (...sets: BackupSetRecord[]): Set<string> =>
    new Set(
      backups
        .filter((b) =>
          sets.some(
            (s) =>
              b.meta.set &&
              (b.meta.set as { BackupSetGUID: string }).BackupSetGUID === s.backupSetGuid,
          ),
        )
        .map((b) => b.id),
    );
  /** As forget rewrites the record once the manifests are deleted. */
  const deleted = { applyRule: true, historyDays: () => 30 };
  const guids = (entries: Map<string, unknown[]>): string[] =>
    (entries.get('sales') ?? []).map((e) => (e as { guid: string }).guid);

  it('holds the sets removed after the oldest full kept, and none before it', () => {
    // LB removed (forced): a restore from F2 crosses it, so msdb's record of it must not read as lost.
    const first = rememberForgotten(backups, ids(LB), new Map(), deleted);
    assert.deepEqual(guids(first), [LB.backupSetGuid]);
    // Then F1 and LA: before F2, the oldest full kept, they need no record; LB's stays.
    const second = rememberForgotten(backups, ids(LB, F1, LA), first, deleted);
    assert.deepEqual(guids(second), [LB.backupSetGuid]);
  });

  it('drops what the rule covers once an older full goes, and keeps what it cannot read', () => {
    const later = { guid: 'ffffffff-0000-4000-8000-00000000000f', format: 2 };
    const recorded = new Map<string, unknown[]>([
      [
        'sales',
        [
          { guid: LA.backupSetGuid, type: 'log', copyOnly: false, finish: LA.finish.toISOString() },
          later,
        ],
      ],
    ]);
    // F1 kept: LA is after it.
    assert.deepEqual(
      rememberForgotten(backups, new Set(), recorded, deleted).get('sales'),
      recorded.get('sales'),
    );
    // F1 removed: LA lies before every full left.
    assert.deepEqual(rememberForgotten(backups, ids(F1), recorded, deleted).get('sales'), [later]);
  });

  it('keeps every set recorded when a kept manifest cannot be read', () => {
    const broken = {
      ...sqlBackup(LC, 99, []),
      meta: { sqlserver: 1, set: { BackupSetGUID: 'x' }, artifacts: [] },
    };
    const entries = rememberForgotten([...backups, broken], ids(F1, LA), new Map(), deleted);
    assert.deepEqual(guids(entries).sort(), [F1.backupSetGuid, LA.backupSetGuid].sort());
  });

  it('holds every set removed until the manifests are deleted', () => {
    // A backup between two deletes may still see F1 and judge LA by it: both are recorded.
    const before = rememberForgotten(backups, ids(F1, LA), new Map(), {
      ...deleted,
      applyRule: false,
    });
    assert.deepEqual(guids(before).sort(), [F1.backupSetGuid, LA.backupSetGuid].sort());
    assert.deepEqual(guids(rememberForgotten(backups, ids(F1, LA), before, deleted)), []);
  });

  it('drops the sets msdb no longer shows: before importHistoryDays and a week', () => {
    const recorded = rememberForgotten(backups, ids(F1), new Map(), {
      ...deleted,
      applyRule: false,
    });
    /** The record once the newest backup of the source finished on `day`. */
    const at = (day: string, days: number) => {
      const newest = { ...sqlBackup(LC, 9, []), finishedAt: `${day}T00:00:00.000Z` };
      return guids(
        rememberForgotten([...backups, newest], new Set(), recorded, {
          applyRule: false,
          historyDays: () => days,
        }),
      );
    };
    // F1 finished 2017-04-26 19:01: 30 + 7 days on msdb may still show it, a day more and not.
    assert.deepEqual(at('2017-06-02', 30), [F1.backupSetGuid]);
    assert.deepEqual(at('2017-06-03', 30), []);
    assert.deepEqual(at('2017-06-03', 90), [F1.backupSetGuid]);
  });
});

describe("a backup's read of the record", () => {
  it('is advice: where it cannot be read, a warning, and the backup goes on', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const local = createLocalStore({ path: dir.path });
    let refuse = false;
    // A credential that may read backups but not forgotten/.
    const store: Store = {
      ...local,
      get: (key, options) =>
        refuse && key.startsWith('forgotten/')
          ? Promise.reject(new StoreError(`[store:test] get ${key}: 403`, { permanent: true }))
          : local.get(key, options),
    };
    const credential = { kind: 'password', password: 'pw' } as const;
    await initRepository(store, credential, { scryptParams: { N: 1024, r: 8, p: 1 } });
    const repo = await openRepository(store, credential);
    const valid = {
      guid: LB.backupSetGuid,
      type: 'log',
      copyOnly: false,
      finish: LB.finish.toISOString(),
    };
    await replaceForgotten(repo, await readForgotten(repo), new Map([['sales', [valid]]]));
    const warnings: string[] = [];
    assert.deepEqual(
      await readForgottenSets(repo, 'sales', { warnings }),
      new Set([LB.backupSetGuid]),
    );
    assert.deepEqual(warnings, []);
    refuse = true;
    assert.deepEqual(await readForgottenSets(repo, 'sales', { warnings }), new Set());
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /could not be read .*403/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordToJson } from '../drivers/sqlserver/plan-json.ts';
import type { BackupSetRecord } from '../drivers/sqlserver/backup-set.ts';
import type { BackupRecord } from '../repository/types.ts';
import { rec, sqlBackup as hbrBackup } from '../../test/sqlserver/build.ts';
import { chainHeads, neededByKept, type UnplannedBackup } from './restore-chains.ts';

/**
 * A backup of the SQL Server source `core-sql` holding `set`, as hbr commits one, with the sets
 * taken outside hbr that msdb showed then.
 */
function sqlBackup(set: BackupSetRecord, n: number, foreign: BackupSetRecord[] = []): BackupRecord {
  const shown = foreign.map((f) => ({ ...recordToJson(f), IsSnapshot: false }));
  return hbrBackup(set, n, shown, 'core-sql');
}

/**
 * hbr's backups of `sets` (oldest first), each reporting `foreign` (a set taken outside hbr) once
 * it is done.
 */
function withForeign(sets: BackupSetRecord[], foreign: BackupSetRecord): BackupRecord[] {
  return sets.map((set, i) => sqlBackup(set, i + 1, set.finish > foreign.finish ? [foreign] : []));
}

/**
 * A full at day 0, a log every 6 hours for 10 days, a second full at day 5 (LSNs in between two
 * logs), oldest first.
 */
function history(): BackupRecord[] {
  const sets: BackupSetRecord[] = [rec('full', 100n, 200n, 0)];
  let lsn = 200n;
  for (let m = 360; m <= 10 * 1440; m += 360) {
    sets.push(rec('log', lsn, lsn + 100n, m));
    if (m === 5 * 1440) sets.push(rec('full', lsn + 40n, lsn + 60n, m + 10));
    lsn += 100n;
  }
  return sets.map(sqlBackup);
}

describe('what kept backups need to be restored', () => {
  it('is the full and the logs before a kept SQL Server log, from the nearest full', () => {
    const backups = history();
    const byType = (type: string) => backups.filter((b) => b.type === type);
    const [first, second] = byType('full');
    const logs = byType('log');
    assert.ok(first && second && logs.length === 40);
    const last = logs.at(-1)!;
    const needLast = neededByKept(backups, new Set([last.id]));
    // The second full, and every log from the one it lies in to the last.
    const fromSecond = logs.filter((l) => l.startedAt >= logs[19]!.startedAt && l !== last);
    assert.deepEqual(
      [...needLast.keys()].sort(),
      [second.id, ...fromSecond.map((l) => l.id)].sort(),
    );
    assert.ok([...needLast.values()].every((why) => why === `needed by ${last.shortId}`));
    // A log before the second full needs the first full and the logs up to it.
    const early = logs[4]!;
    assert.deepEqual(
      [...neededByKept(backups, new Set([early.id])).keys()].sort(),
      [first.id, ...logs.slice(0, 4).map((l) => l.id)].sort(),
    );
    // A full needs nothing.
    assert.equal(neededByKept(backups, new Set([first.id])).size, 0);
  });

  it('needs for many kept backups what each needs alone', () => {
    const backups = history();
    const logs = backups.filter((b) => b.type === 'log');
    const kept = [logs[4]!, logs[10]!, logs[25]!, logs[26]!, logs[39]!, backups[0]!];
    const alone = new Set<string>();
    for (const k of kept)
      for (const id of neededByKept(backups, new Set([k.id])).keys()) alone.add(id);
    for (const k of kept) alone.delete(k.id);
    const together = neededByKept(backups, new Set(kept.map((k) => k.id)));
    assert.deepEqual([...together.keys()].sort(), [...alone].sort());
  });

  it('keeps every older backup of the source when the chain has a gap', () => {
    const backups = history();
    const logs = backups.filter((b) => b.type === 'log');
    const gone = logs[30]!;
    const left = backups.filter((b) => b !== gone);
    const last = logs.at(-1)!;
    const unplanned: UnplannedBackup[] = [];
    const needed = neededByKept(left, new Set([last.id]), (u) => unplanned.push(u));
    assert.deepEqual(
      [...needed.keys()].sort(),
      left
        .filter((b) => b !== last)
        .map((b) => b.id)
        .sort(),
    );
    // Not "needed by" a backup that cannot be restored itself: kept because it is older.
    const why = `older than ${last.shortId}, which has no restore chain in the repository`;
    assert.ok([...needed.values()].every((w) => w === why));
    assert.deepEqual(
      unplanned.map((u) => u.backup.id),
      [last.id],
    );
    assert.match(unplanned[0]!.why, /gap in the log chain/);
  });

  it("keeps a kept differential's own base full, not a later copy-only full taken outside hbr", () => {
    // hbr's full F, a log, a DBA's copy-only full C (its file is not in the repository), a log,
    // hbr's differential D on F, a log.
    const F = rec('full', 100n, 200n, 0);
    const C = rec('full', 310n, 320n, 90, { isCopyOnly: true, files: ['D:\\refresh\\copy.bak'] });
    const D = rec('diff', 410n, 420n, 150, {
      differentialBaseGuid: F.backupSetGuid,
      databaseBackupLsn: 100n,
    });
    const sets = [F, rec('log', 100n, 300n, 60), rec('log', 300n, 400n, 120), D];
    sets.push(rec('log', 400n, 500n, 180));
    const backups = withForeign(sets, C);
    const [f, , , d, l3] = backups;
    assert.ok(f && d && l3);
    assert.deepEqual([...neededByKept(backups, new Set([d.id])).keys()], [f.id]);
    // The last log is restored from F and D, not from C: the logs before D may go.
    assert.deepEqual([...neededByKept(backups, new Set([d.id, l3.id])).keys()], [f.id]);
  });

  it('anchors a kept log on a full the repository holds, not on a later full taken outside hbr', () => {
    // A DBA's ordinary full C between hbr's logs: restoring from it needs a file hbr does not hold.
    const F = rec('full', 100n, 200n, 0);
    const C = rec('full', 310n, 320n, 90, { files: ['D:\\predeploy\\Sales.bak'] });
    const sets = [F, rec('log', 100n, 300n, 60), rec('log', 300n, 400n, 120)];
    sets.push(rec('log', 400n, 500n, 180));
    const backups = withForeign(sets, C);
    const last = backups.at(-1)!;
    assert.deepEqual(
      [...neededByKept(backups, new Set([last.id])).keys()].sort(),
      backups
        .slice(0, -1)
        .map((b) => b.id)
        .sort(),
    );
  });

  it('keeps every older backup when a kept log can only be restored from a full taken outside hbr', () => {
    // hbr takes logs only; the one full is a DBA's, its file outside the repository.
    const C = rec('full', 150n, 160n, 30, { files: ['D:\\full\\Sales.bak'] });
    // Anchored on it, the first log would go.
    const sets = [
      rec('log', 50n, 100n, 10),
      rec('log', 100n, 200n, 20),
      rec('log', 200n, 300n, 60),
    ];
    sets.push(rec('log', 300n, 400n, 120), rec('log', 400n, 500n, 180));
    const backups = withForeign(sets, C);
    const last = backups.at(-1)!;
    const unplanned: UnplannedBackup[] = [];
    const needed = neededByKept(backups, new Set([last.id]), (u) => unplanned.push(u));
    assert.deepEqual(
      [...needed.keys()].sort(),
      backups
        .slice(0, -1)
        .map((b) => b.id)
        .sort(),
    );
    assert.deepEqual(
      unplanned.map((u) => u.backup.id),
      [last.id],
    );
  });

  it('names the newest SQL Server backup of each source as the head of its chain', () => {
    const backups = history();
    const files = { ...sqlBackup(rec('full', 1n, 2n, 99_999), 999), kind: 'files', source: 'x' };
    assert.deepEqual(
      chainHeads([...backups].reverse().concat(files)).map((b) => b.id),
      [backups.at(-1)!.id],
    );
  });

  it('adds nothing for backups that are whole on their own', () => {
    const files = { ...sqlBackup(rec('full', 1n, 2n, 0), 999), kind: 'files', source: 'files' };
    assert.equal(neededByKept([files], new Set([files.id])).size, 0);
  });
});

/**
 * Sets msdb shows on hbr's own device that the repository does not hold, but whose commit did not
 * fail: backups `hbr forget` removed, and a backup another hbr process is still committing. Neither
 * is warned of as lost, recorded in `meta.lost` or named by a restore plan; a set that was lost is,
 * as before. Backups through the driver with the stand-in server; `hbr forget` through the CLI.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  backupSqlServerSource,
  type SqlServerBackupResult,
} from '../../src/drivers/sqlserver/backup-source.ts';
import type { SqlExecutor } from '../../src/drivers/sqlserver/executor.ts';
import { restoreSqlServerSource } from '../../src/drivers/sqlserver/restore-source.ts';
import { StoreError } from '../../src/errors.ts';
import { hbr } from '../helpers/cli.ts';
import { diskStandIn, type DiskStandIn } from './disk-stand-in.ts';

/** The warning of a set hbr took that the repository lacks (`lostSetWarning`). */
const LOST = /msdb shows a \w+ backup hbr took at .* that is not in the repository/;

/** The GUIDs a backup recorded as lost. */
function lostIn(result: SqlServerBackupResult): string[] {
  const lost = result.record.meta.lost as { BackupSetGUID: string }[];
  return lost.map((s) => s.BackupSetGUID.toLowerCase());
}

/** Takes a backup at the stand-in's clock after some work, then moves the clock on six hours. */
function taker({ sql, repo, settings }: DiskStandIn) {
  return async (type: 'full' | 'diff' | 'log'): Promise<SqlServerBackupResult> => {
    sql.write(settings.database, 2);
    const result = await backupSqlServerSource(sql, repo, settings, type, { now: sql.now });
    sql.now = new Date(sql.now.getTime() + 6 * 3600_000);
    return result;
  };
}

/** As if hbr's BACKUP LOG ran and its commit failed: msdb has the set, the repository not. */
async function lostLog({ sql, staging, settings }: DiskStandIn): Promise<string> {
  sql.write(settings.database, 2);
  await sql.manualBackup(settings.database, 'log', `${staging.serverPath}/lost_log.bak`);
  sql.now = new Date(sql.now.getTime() + 6 * 3600_000);
  return sql.lastBackupGuid().toLowerCase();
}

describe('backups hbr forget removed', () => {
  it('are not lost: the next backup neither warns of them nor records them, and no restore plan names them', async (t) => {
    const stand = await diskStandIn(t, 'Kept');
    const take = taker(stand);
    const env = { HBR_REPOSITORY: stand.repoPath, HBR_PASSWORD: 'pw' };
    const forget = (...rules: string[]) => hbr(['forget', ...rules, '--source', 'kept'], { env });
    // Four backups a day from 2026-11-01, a full on the first day, a differential on each after.
    await take('full');
    for (const type of ['log', 'log', 'log'] as const) await take(type);
    await take('diff');
    await take('log');
    // A set lost after the full the repository keeps: a gap for the restores that cross it.
    const lost = await lostLog(stand);
    assert.equal((await take('log')).type, 'diff');
    const day2 = [await take('diff'), await take('log'), await take('log'), await take('log')];
    for (const type of ['diff', 'log', 'log'] as const) await take(type);

    // The newest backups of the last two days, and what they need: the full, each day's
    // differential and logs. Day 1's backups and day 0's logs go, after the full kept.
    const forgot = await forget('--keep-daily', '2');
    assert.equal(forgot.code, 0, forgot.stderr);
    assert.match(forgot.stdout, /removed 6 backup\(s\)/);

    const next = await take('log');
    assert.equal(next.type, 'log');
    assert.deepEqual(next.warnings, []);
    assert.deepEqual(lostIn(next), [lost]);
    // To the end of day 2's last log: the full, day 2's differential (bridging day 1) and logs.
    const restore = await restoreSqlServerSource(stand.sql, stand.repo, stand.settings, {
      target: { kind: 'latest' },
      backupId: day2.at(-1)!.record.id,
      as: 'Kept_copy',
      dryRun: true,
    });
    assert.deepEqual(
      restore.plan.steps.map((s) => s.type),
      ['full', 'diff', 'log', 'log', 'log'],
    );
    const named = restore.warnings.filter((w) => LOST.test(w));
    assert.equal(named.length, 1, restore.warnings.join('\n'));
    assert.match(named[0]!, new RegExp(lost));

    // A week on: a new full, and a set lost after it. Keeping only the newest chain removes every
    // backup before that full; no restore reaches what lies before it, lost or not.
    stand.sql.now = new Date(Date.UTC(2026, 10, 8));
    await take('full');
    const lostAgain = await lostLog(stand);
    const told = await take('log');
    assert.equal(told.warnings.filter((w) => LOST.test(w)).length, 1, told.warnings.join('\n'));
    const kept = await forget('--keep-last', '1');
    assert.equal(kept.code, 0, kept.stderr);
    const after = await take('log');
    assert.deepEqual(after.warnings, []);
    assert.deepEqual(lostIn(after), [lostAgain]);
  });
});

describe('a backup another hbr process is still committing', () => {
  /**
   * The stand-in, its RESTORE VERIFYONLY held until `release`: a backup through it has written
   * its set (msdb shows it) but not its manifest. `reached` resolves when it waits there.
   */
  function held(sql: SqlExecutor) {
    let reached!: () => void;
    let release!: () => void;
    const waiting = new Promise<void>((resolve) => (reached = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const exec: SqlExecutor = {
      query: (text, options) => sql.query(text, options),
      close: () => sql.close(),
      run: async (text, options) => {
        if (text.startsWith('RESTORE VERIFYONLY')) {
          reached();
          await gate;
        }
        return sql.run(text, options);
      },
    };
    return { exec, waiting, release };
  }

  /** A full, then a scheduled log backup held with its set written, its manifest not. */
  async function logStillCommitting(t: TestContext) {
    const stand = await diskStandIn(t, 'Busy');
    const { sql, repo, settings } = stand;
    await backupSqlServerSource(sql, repo, settings, 'full');
    const log = held(sql);
    sql.write('Busy', 2);
    const scheduled = backupSqlServerSource(log.exec, repo, settings, 'log');
    await log.waiting;
    return {
      ...stand,
      scheduled,
      release: log.release,
      committing: sql.lastBackupGuid().toLowerCase(),
    };
  }

  it('is not taken for lost by a backup that reads msdb meanwhile, but is once it ends without its commit', async (t) => {
    // A scheduled log backup, and a manual full while the log is still being committed.
    const { sql, repo, settings, scheduled, release, committing } = await logStillCommitting(t);
    sql.write('Busy', 2);
    const manual = await backupSqlServerSource(sql, repo, settings, 'full');
    assert.ok(!manual.warnings.some((w) => LOST.test(w)), manual.warnings.join('\n'));
    assert.deepEqual(lostIn(manual), []);
    assert.ok(
      manual.warnings.some((w) => w.includes(committing) && /still running/.test(w)),
      manual.warnings.join('\n'),
    );
    release();
    assert.equal((await scheduled).type, 'log');
    sql.write('Busy', 2);
    const next = await backupSqlServerSource(sql, repo, settings, 'log');
    assert.deepEqual(next.warnings, []);
    assert.deepEqual(lostIn(next), []);

    // This time the log backup's commit fails after the full read msdb: then its set is lost.
    const failing = held(sql);
    sql.write('Busy', 2);
    const doomed = backupSqlServerSource(failing.exec, repo, settings, 'log');
    await failing.waiting;
    const failed = sql.lastBackupGuid().toLowerCase();
    sql.write('Busy', 2);
    const meanwhile = await backupSqlServerSource(sql, repo, settings, 'full');
    assert.deepEqual(lostIn(meanwhile), []);
    sql.failNext(/^RESTORE VERIFYONLY/, 'Msg 3203, Level 16: Read on "x" failed');
    failing.release();
    await assert.rejects(doomed, /Msg 3203/);
    sql.write('Busy', 2);
    const after = await backupSqlServerSource(sql, repo, settings, 'log');
    assert.equal(after.warnings.filter((w) => LOST.test(w)).length, 1, after.warnings.join('\n'));
    assert.deepEqual(lostIn(after), [failed]);
  });

  it('is not taken for lost by a restore planned meanwhile: it is warned of, and in the plan once committed', async (t) => {
    const { sql, repo, settings, scheduled, release, committing } = await logStillCommitting(t);
    const plan = () =>
      restoreSqlServerSource(sql, repo, settings, {
        target: { kind: 'latest' },
        as: 'Busy_copy',
        dryRun: true,
      });

    const meanwhile = await plan();
    assert.deepEqual(
      meanwhile.plan.steps.map((s) => s.type),
      ['full'],
    );
    assert.ok(!meanwhile.warnings.some((w) => LOST.test(w)), meanwhile.warnings.join('\n'));
    assert.ok(
      meanwhile.warnings.some((w) => w.includes(committing) && /still running/.test(w)),
      meanwhile.warnings.join('\n'),
    );
    release();
    await scheduled;
    const after = await plan();
    assert.deepEqual(
      after.plan.steps.map((s) => s.type),
      ['full', 'log'],
    );
    assert.ok(!after.warnings.some((w) => w.includes(committing)), after.warnings.join('\n'));
  });

  it('is called lost, with a warning why, by a restore that cannot list the locks', async (t) => {
    const { sql, repo, settings, scheduled, release } = await logStillCommitting(t);
    const denied = new StoreError('local: locks/: permission denied', { permanent: true });
    const result = await restoreSqlServerSource(
      sql,
      repo,
      settings,
      { target: { kind: 'latest' }, as: 'Busy_copy', dryRun: true },
      { otherLocks: () => Promise.reject(denied) },
    );
    assert.deepEqual(
      result.plan.steps.map((s) => s.type),
      ['full'],
    );
    assert.ok(
      result.warnings.some((w) => /locks could not be listed .*permission denied/.test(w)),
      result.warnings.join('\n'),
    );
    assert.ok(
      result.warnings.some((w) => LOST.test(w)),
      result.warnings.join('\n'),
    );
    release();
    await scheduled;
  });
});

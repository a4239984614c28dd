/**
 * Sets msdb shows on hbr's own device that the repository does not hold, but whose commit did not
 * fail: a backup another hbr process is still committing. It is not warned of as lost nor recorded
 * in `meta.lost`; a set that was lost is, as before. Backups through the driver with the stand-in
 * server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backupSqlServerSource,
  type SqlServerBackupResult,
} from '../../src/drivers/sqlserver/backup-source.ts';
import type { SqlExecutor } from '../../src/drivers/sqlserver/executor.ts';
import { diskStandIn } from './disk-stand-in.ts';

/** The warning of a set hbr took that the repository lacks (`lostSetWarning`). */
const LOST = /msdb shows a \w+ backup hbr took at .* that is not in the repository/;

/** The GUIDs a backup recorded as lost. */
function lostIn(result: SqlServerBackupResult): string[] {
  const lost = result.record.meta.lost as { BackupSetGUID: string }[];
  return lost.map((s) => s.BackupSetGUID.toLowerCase());
}

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

  it('is not taken for lost by a backup that reads msdb meanwhile, but is once it ends without its commit', async (t) => {
    const stand = await diskStandIn(t, 'Busy');
    const { sql, repo, settings } = stand;
    await backupSqlServerSource(sql, repo, settings, 'full');

    // A scheduled log backup, and a manual full while the log is still being committed.
    const log = held(sql);
    sql.write('Busy', 2);
    const scheduled = backupSqlServerSource(log.exec, repo, settings, 'log');
    await log.waiting;
    const committing = sql.lastBackupGuid().toLowerCase();
    sql.write('Busy', 2);
    const manual = await backupSqlServerSource(sql, repo, settings, 'full');
    assert.ok(!manual.warnings.some((w) => LOST.test(w)), manual.warnings.join('\n'));
    assert.deepEqual(lostIn(manual), []);
    assert.ok(
      manual.warnings.some((w) => w.includes(committing) && /still running/.test(w)),
      manual.warnings.join('\n'),
    );
    log.release();
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
});

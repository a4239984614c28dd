/**
 * Backups without checksums (config `checksum: false`, a DBA's plain BACKUP) are verified and
 * restored without CHECKSUM, which SQL Server refuses for them (Msg 3187); backups with checksums
 * keep it. Runs against the stand-in server, which refuses CHECKSUM as SQL Server does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backupSqlServerSource } from '../../src/drivers/sqlserver/backup-source.ts';
import { planRestore } from '../../src/drivers/sqlserver/chain.ts';
import { parseMsdbRows } from '../../src/drivers/sqlserver/msdb.ts';
import { restoreSqlServerSource } from '../../src/drivers/sqlserver/restore-source.ts';
import { buildRestoreScript } from '../../src/drivers/sqlserver/tsql-restore.ts';
import { diskStandIn } from './disk-stand-in.ts';

/** An msdb history row (msdb.ts query columns); `checksums` undefined leaves the column out. */
function msdbRow(
  guid: string,
  type: string,
  lsns: [string, string, string | null],
  finish: string,
  path: string,
  checksums: boolean | undefined,
): Record<string, unknown> {
  return {
    BackupSetGUID: `11111111-0000-0000-0000-00000000000${guid}`,
    Type: type,
    FirstLSN: lsns[0],
    LastLSN: lsns[1],
    CheckpointLSN: lsns[2],
    DatabaseBackupLSN: '0',
    IsCopyOnly: false,
    IsDamaged: false,
    ...(checksums === undefined ? {} : { HasBackupChecksums: checksums }),
    IsSnapshot: false,
    DeviceType: 2,
    BackupStartDate: finish,
    BackupFinishDate: finish,
    ServerUtcOffsetMinutes: 0,
    UtcOffsetMinutes: 0,
    Position: 1,
    ServerName: 'sql1',
    DatabaseName: 'Hartonomous',
    BackupPath: path,
    FamilySequence: 1,
  };
}

describe('CHECKSUM on restore steps read from msdb', () => {
  it('is given only to sets msdb says have checksums; not to sets without, nor to unknown ones', () => {
    const { records } = parseMsdbRows(
      [
        msdbRow(
          '1',
          'D',
          ['1000', '2000', '1000'],
          '2026-11-20T10:00:00',
          'D:\\adhoc\\full.bak',
          false,
        ),
        msdbRow('2', 'L', ['1000', '3000', null], '2026-11-20T11:00:00', 'D:\\b\\l1.trn', true),
        msdbRow(
          '3',
          'L',
          ['3000', '4000', null],
          '2026-11-20T12:00:00',
          'D:\\b\\l2.trn',
          undefined,
        ),
      ],
      'sql1',
    );
    assert.deepEqual(
      records.map((r) => r.hasBackupChecksums),
      [false, true, null],
    );
    const plan = planRestore(records, { kind: 'latest' });
    const steps = buildRestoreScript(plan, { targetExists: false, serverUtcOffsetMinutes: 0 })
      .filter((s) => s.kind === 'restore')
      .map((s) => s.sql);
    assert.equal(steps.length, 3);
    assert.doesNotMatch(steps[0]!, /CHECKSUM/);
    assert.match(steps[1]!, /, NORECOVERY, CHECKSUM, STATS = 10;$/);
    assert.doesNotMatch(steps[2]!, /CHECKSUM/);
  });
});

describe('backups without checksums', () => {
  it('with checksum: false, verifies each backup without CHECKSUM and restores the chain', async (t) => {
    const { sql, repo, settings } = await diskStandIn(t, 'Plain', { backup: { checksum: false } });
    const full = await backupSqlServerSource(sql, repo, settings, 'full');
    assert.equal(full.record.meta.verified, true);
    assert.equal(full.record.meta.hasBackupChecksums, false);
    sql.write('Plain', 3);
    await backupSqlServerSource(sql, repo, settings, 'log');
    const verify = sql.statements.filter((s) => s.startsWith('RESTORE VERIFYONLY'));
    assert.equal(verify.length, 2);
    for (const s of verify) assert.match(s, /NO_CHECKSUM/);

    await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'latest' },
      as: 'Plain_check',
    });
    assert.equal(sql.restored.get('Plain_check')?.length, 2);
    const restores = sql.statements.filter((s) => /^RESTORE (DATABASE|LOG) .* FROM /.test(s));
    for (const s of restores) assert.doesNotMatch(s, /[ ,]CHECKSUM/);
  });

  it("restores a chain holding a DBA's plain log backup: CHECKSUM on hbr's steps only", async (t) => {
    const { sql, repo, settings } = await diskStandIn(t, 'Mixed');
    await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('Mixed', 2);
    const manual = '/var/opt/mssql/backup/manual/Mixed_adhoc.trn';
    await sql.manualBackup('Mixed', 'log', manual, { checksum: false });
    sql.write('Mixed', 2);
    await backupSqlServerSource(sql, repo, settings, 'log');

    const result = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'latest' },
      as: 'Mixed_check',
    });
    assert.equal(result.plan.steps.length, 3);
    assert.equal(sql.restored.get('Mixed_check')?.length, 3);
    const steps = result.script.filter((s) => s.kind === 'restore').map((s) => s.sql);
    assert.match(steps[0]!, /^RESTORE DATABASE .*, CHECKSUM, /);
    assert.ok(steps[1]!.includes(`DISK = N'${manual}'`));
    assert.doesNotMatch(steps[1]!, /CHECKSUM/);
    assert.match(steps[2]!, /^RESTORE LOG .*, CHECKSUM, /);
  });
});

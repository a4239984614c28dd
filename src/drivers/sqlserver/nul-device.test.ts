import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PlanError } from '../../errors.ts';
import { planRestore } from './chain.ts';
import { parseMsdbRows } from './msdb.ts';
import { discardedSetWarning, isNulDevice } from './nul-device.ts';

/** msdb rows: a full, a log, a DBA's `BACKUP LOG … TO DISK = 'NUL'`, then more logs. */
function history(nul: string): Record<string, unknown>[] {
  const row = (n: number, type: string, first: string, last: string, path: string) => ({
    BackupSetGUID: `11111111-0000-0000-0000-00000000000${n}`,
    Type: type,
    FirstLSN: first,
    LastLSN: last,
    CheckpointLSN: type === 'D' ? first : null,
    DatabaseBackupLSN: '1000',
    HasBackupChecksums: true,
    DeviceType: 2,
    BackupStartDate: `2026-11-20T1${n}:00:00`,
    BackupFinishDate: `2026-11-20T1${n}:00:00`,
    ServerUtcOffsetMinutes: 0,
    Position: 1,
    ServerName: 'sql1',
    DatabaseName: 'Hartonomous',
    BackupPath: path,
  });
  return [
    row(1, 'D', '1000', '2000', '/var/opt/mssql/backup/full.bak'),
    row(2, 'L', '1000', '3000', '/var/opt/mssql/backup/log1.trn'),
    row(3, 'L', '3000', '4000', nul),
    row(4, 'L', '4000', '5000', '/var/opt/mssql/backup/log2.trn'),
  ];
}

void test('the null device names msdb records are recognised, and files named like them are not', () => {
  for (const name of ['NUL', 'nul', 'Nul', 'NUL:', 'nul:', ' NUL ', '\\\\.\\NUL', '/dev/null'])
    assert.ok(isNulDevice(name), name);
  for (const name of ['NULL', 'D:\\backup\\nul.trn', 'nul.bak', '/var/opt/mssql/backup/NUL'])
    assert.ok(!isNulDevice(name), name);
});

void test('a log backup written to NUL is no restore step: the chain has a gap there', () => {
  for (const nul of ['NUL', 'nul', 'NUL:']) {
    const { records, discarded } = parseMsdbRows(history(nul), 'sql1');
    assert.equal(records.length, 3, nul);
    assert.deepEqual(
      discarded.map((r) => r.lastLsn),
      [4000n],
    );
    assert.match(
      discardedSetWarning(discarded[0]!),
      new RegExp(
        `log backup of Hartonomous .*LSN 3000 → 4000.* written to ${nul} and discarded: the log chain breaks there`,
      ),
    );
    assert.throws(
      () => planRestore(records, { kind: 'latest' }),
      (e: unknown) => e instanceof PlanError && e.reason === 'LSN_GAP',
    );
    // Up to the end of the log before it, the chain holds.
    const plan = planRestore(records, { kind: 'time', at: new Date('2026-11-20T12:00:00Z') });
    assert.ok(plan.steps.every((s) => !s.files.includes(nul)));
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { msdbHistoryQuery, parseMsdbRows } from './msdb.ts';

void test('the msdb query casts LSNs, excludes mirrors and filters by a quoted database name', () => {
  const sql = msdbHistoryQuery({ database: "O'Brien, Test", days: 14 });
  assert.match(sql, /CONVERT\(varchar\(40\), bs\.first_lsn\) AS \[FirstLSN\]/);
  assert.match(sql, /bmf\.mirror = 0/);
  assert.match(sql, /bs\.database_name = N'O''Brien, Test'/);
  assert.match(sql, /DATEADD\(day, -14, GETDATE\(\)\)/);
  assert.match(sql, /ORDER BY bs\.backup_set_id, bmf\.family_sequence_number;$/);
});

void test('msdb rows become records; stripes merge and local times use the recorded offset', () => {
  const base = {
    BackupSetGUID: 'AAAAAAAA-0000-4000-8000-000000000001',
    Type: 'D',
    FirstLSN: '14975000000268200036',
    LastLSN: '14975000000269800001',
    CheckpointLSN: '14975000000268200036',
    DatabaseBackupLSN: '0',
    DifferentialBaseLSN: null,
    IsCopyOnly: true,
    BackupStartDate: '2026-07-01T10:00:00',
    BackupFinishDate: '2026-07-01T10:05:00.500',
    ServerUtcOffsetMinutes: -240,
    Position: 1,
    ServerName: 'SQL1',
    DatabaseName: 'Sales',
  };
  const { records } = parseMsdbRows(
    [
      { ...base, BackupPath: '/b/s1.bak', FamilySequence: 1 },
      { ...base, BackupPath: '/b/s2.bak', FamilySequence: 2 },
      {
        ...base,
        BackupSetGUID: 'AAAAAAAA-0000-4000-8000-000000000002',
        Type: 'F',
        BackupPath: '/b/f.bak',
      },
    ],
    'SQL1',
  );
  assert.equal(records.length, 1);
  const r = records[0]!;
  assert.equal(r.type, 'full');
  assert.equal(r.isCopyOnly, true);
  assert.equal(r.lastLsn, 14975000000269800001n);
  assert.deepEqual(r.files, ['/b/s1.bak', '/b/s2.bak']);
  // 10:05:00.500 at UTC-4 is 14:05:00.500Z.
  assert.equal(r.finish.toISOString(), '2026-07-01T14:05:00.500Z');
  assert.throws(
    () => parseMsdbRows([{ ...base, FirstLSN: 'x' }], 'SQL1'),
    /\[sqlserver:SQL1\] msdb history/,
  );
});

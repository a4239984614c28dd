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

void test('msdb snapshot and virtual-device sets are left out: hbr cannot restore from them', () => {
  const sql = msdbHistoryQuery({ database: 'Sales' });
  assert.match(sql, /bs\.is_snapshot AS \[IsSnapshot\]/);
  assert.match(sql, /bmf\.device_type AS \[DeviceType\]/);
  const row = (guid: string, more: Record<string, unknown>): Record<string, unknown> => ({
    BackupSetGUID: `11111111-0000-0000-0000-00000000000${guid}`,
    Type: 'D',
    FirstLSN: '3500',
    LastLSN: '3600',
    CheckpointLSN: '3500',
    DatabaseBackupLSN: '1000',
    IsCopyOnly: true,
    BackupStartDate: '2026-03-01T08:00:00',
    BackupFinishDate: '2026-03-01T08:00:05',
    ServerUtcOffsetMinutes: 0,
    ServerName: 'SQL1',
    DatabaseName: 'Sales',
    IsSnapshot: false,
    DeviceType: 2,
    BackupPath: 'D:\\backup\\Sales_full.bak',
    ...more,
  });
  const { records, skipped } = parseMsdbRows(
    [
      row('1', {}),
      // A VM-level VSS snapshot: copy-only, virtual device, a GUID for a path, the highest LastLSN.
      row('2', {
        LastLSN: '9000',
        IsSnapshot: true,
        DeviceType: 7,
        BackupPath: '{6E1F5C2B-9D4A-4F7B-8E3C-2A1B0C9D8E7F}',
      }),
      // Another tool's stream through VDI (not a snapshot).
      row('3', { LastLSN: '9100', DeviceType: 7, BackupPath: 'VDI_1B2C' }),
      // SQL Server 2022 METADATA_ONLY snapshot backup written to a disk file.
      row('4', { LastLSN: '9200', IsSnapshot: 1, BackupPath: 'D:\\backup\\Sales.bkm' }),
    ],
    'SQL1',
  );
  assert.deepEqual(
    records.map((r) => r.backupSetGuid),
    ['11111111-0000-0000-0000-000000000001'],
  );
  assert.equal(skipped.length, 3);
  assert.match(skipped[0]!.reason, /snapshot/);
  assert.match(skipped[1]!.reason, /virtual device/);
});

void test('msdb rows keep the UTC offset recorded with each set (time_zone), or none when unknown', () => {
  const sql = msdbHistoryQuery({ database: 'Sales' });
  assert.match(
    sql,
    /CASE WHEN bs\.time_zone BETWEEN -48 AND 48 THEN bs\.time_zone \* 15 END AS \[UtcOffsetMinutes\]/,
  );
  const row = {
    BackupSetGUID: '33333333-0000-4000-8000-000000000001',
    Type: 'L',
    FirstLSN: '2000',
    LastLSN: '3000',
    BackupStartDate: '2026-01-15T11:00:00',
    BackupFinishDate: '2026-01-15T11:30:00',
    // Taken in winter (time_zone 4) and read in summer: the query's fallback for dates is today's.
    ServerUtcOffsetMinutes: 60,
    UtcOffsetMinutes: 60,
    ServerName: 'SQL1',
    DatabaseName: 'Sales',
    BackupPath: 'D:\\backup\\Sales.trn',
  };
  const { records } = parseMsdbRows(
    [
      row,
      { ...row, BackupSetGUID: '33333333-0000-4000-8000-000000000002', UtcOffsetMinutes: null },
    ],
    'SQL1',
  );
  assert.deepEqual(
    records.map((r) => r.utcOffsetMinutes),
    [60, null],
  );
});

void test('msdb rows keep where a log backup crosses into a new recovery fork (fork_point_lsn)', () => {
  assert.match(
    msdbHistoryQuery({ database: 'Sales' }),
    /CONVERT\(varchar\(40\), bs\.fork_point_lsn\) AS \[ForkPointLSN\]/,
  );
  const { records } = parseMsdbRows(
    [
      {
        BackupSetGUID: '44444444-0000-4000-8000-000000000001',
        Type: 'L',
        FirstLSN: '34000000024800001',
        LastLSN: '34000000025900001',
        FirstRecoveryForkID: 'AAAAAAAA-0000-4000-8000-00000000000A',
        RecoveryForkID: 'BBBBBBBB-0000-4000-8000-00000000000B',
        ForkPointLSN: '34000000025500001',
        BackupStartDate: '2026-01-15T11:00:00',
        BackupFinishDate: '2026-01-15T11:30:00',
        ServerName: 'SQL1',
        DatabaseName: 'Sales',
        BackupPath: 'D:\\backup\\Sales.trn',
      },
    ],
    'SQL1',
  );
  assert.equal(records[0]!.forkPointLsn, 34000000025500001n);
});

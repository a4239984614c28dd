import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFileListRows, parseHeaderRows } from './headers.ts';

// A row as mssql returns it from headerOnlyQuery: LSNs and dates are text, GUIDs upper-case.
const headerRow = {
  BackupName: null,
  BackupType: 5,
  Position: 2,
  ServerName: 'SQL1',
  DatabaseName: 'Sales',
  DatabaseVersion: 957,
  BackupSize: '1048576',
  FirstLSN: '3765680000057920000012345',
  LastLSN: '3765680000057920000099999',
  CheckpointLSN: '3765680000057920000012345',
  DatabaseBackupLSN: '3765680000057920000000001',
  BackupStartDate: '2026-03-29T02:30:00',
  BackupFinishDate: '2026-03-29T02:31:05.250',
  RecoveryForkID: 'AAAAAAAA-0000-4000-8000-000000000001',
  FirstRecoveryForkID: 'AAAAAAAA-0000-4000-8000-000000000001',
  FamilyGUID: 'FFFFFFFF-0000-4000-8000-000000000001',
  DifferentialBaseLSN: '3765680000057920000000001',
  DifferentialBaseGUID: 'BBBBBBBB-0000-4000-8000-000000000001',
  BackupTypeDescription: 'DATABASE DIFFERENTIAL',
  BackupSetGUID: 'CCCCCCCC-0000-4000-8000-000000000001',
  HasBackupChecksums: true,
  Compressed: 1,
  IsCopyOnly: false,
  IsDamaged: false,
  ForkPointLSN: null,
  RecoveryModel: 'FULL',
  KeyAlgorithm: 'aes_256',
  EncryptorType: 'CERTIFICATE',
  ServerUtcOffsetMinutes: 120,
};

void test('HEADERONLY rows become records with exact LSNs and instants from server-local times', () => {
  const [h] = parseHeaderRows([headerRow], ['s1.bak', 's2.bak']);
  assert.ok(h);
  assert.equal(h.record.type, 'diff');
  assert.equal(h.record.firstLsn, 3765680000057920000012345n);
  assert.equal(h.record.differentialBaseGuid, 'bbbbbbbb-0000-4000-8000-000000000001');
  assert.equal(h.record.position, 2);
  assert.deepEqual(h.record.files, ['s1.bak', 's2.bak']);
  // 02:31:05.250 at UTC+2 is 00:31:05.250Z.
  assert.equal(h.record.finish.toISOString(), '2026-03-29T00:31:05.250Z');
  assert.equal(h.hasBackupChecksums, true);
  assert.equal(h.compressed, true);
  assert.equal(h.keyAlgorithm, 'aes_256');
  assert.equal(h.recoveryModel, 'FULL');
});

void test('a set written by a newer SQL Server is refused', () => {
  assert.throws(
    () => parseHeaderRows([{ ...headerRow, BackupName: '*** INCOMPLETE ***' }], ['x.bak']),
    /newer SQL Server/,
  );
});

void test('FILELISTONLY rows become typed file entries', () => {
  const rows = [
    {
      LogicalName: "Sales, 'main'",
      PhysicalName: 'D:\\Sales.mdf',
      Type: 'D',
      FileGroupName: 'PRIMARY',
      FileID: '1',
      Size: '8388608',
      IsPresent: true,
    },
    {
      LogicalName: 'Sales_log',
      PhysicalName: 'L:\\Sales_log.ldf',
      Type: 'L',
      FileGroupName: null,
      FileID: '2',
      Size: '8388608',
      IsPresent: true,
    },
  ];
  const files = parseFileListRows(rows);
  assert.deepEqual(
    files.map((x) => [x.logicalName, x.type, x.fileId]),
    [
      ["Sales, 'main'", 'D', 1],
      ['Sales_log', 'L', 2],
    ],
  );
  assert.throws(
    () => parseFileListRows([{ LogicalName: 'x', PhysicalName: 'y', Type: 'Q' }]),
    /malformed/,
  );
});

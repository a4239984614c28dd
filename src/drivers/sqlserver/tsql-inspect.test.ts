import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviceOf } from './device.ts';
import {
  fileListOnlyQuery,
  headerOnlyQuery,
  restoreFileListOnly,
  restoreHeaderOnly,
  restoreVerifyOnly,
} from './tsql-inspect.ts';

const stripes = [
  deviceOf("C:\\dbatools\\Test, command and conquer\\it's_1.bak"),
  deviceOf('C:\\b\\s2.bak'),
];

void test('HEADERONLY, FILELISTONLY and VERIFYONLY name every stripe and the set position', () => {
  assert.equal(
    restoreHeaderOnly(stripes),
    "RESTORE HEADERONLY FROM DISK = N'C:\\dbatools\\Test, command and conquer\\it''s_1.bak', DISK = N'C:\\b\\s2.bak';",
  );
  assert.match(restoreFileListOnly(stripes, 3), /DISK = N'C:\\b\\s2.bak' WITH FILE = 3;$/);
  assert.match(restoreVerifyOnly(stripes, 2), /WITH FILE = 2, CHECKSUM, STATS = 10;$/);
});

void test('the HEADERONLY query casts every LSN to text and carries the server offset', () => {
  const sql = headerOnlyQuery(stripes, 15);
  for (const lsn of [
    'FirstLSN',
    'LastLSN',
    'CheckpointLSN',
    'DatabaseBackupLSN',
    'ForkPointLSN',
    'DifferentialBaseLSN',
  ]) {
    assert.match(sql, new RegExp(`CONVERT\\(varchar\\(40\\), \\[${lsn}\\]\\) AS \\[${lsn}\\]`));
  }
  assert.match(sql, /CONVERT\(varchar\(23\), \[BackupFinishDate\], 126\)/);
  assert.match(sql, /DATEPART\(TZOFFSET, SYSDATETIMEOFFSET\(\)\) AS \[ServerUtcOffsetMinutes\]/);
  // The inner statement is a literal: its own quotes are doubled once more.
  assert.match(
    sql,
    /EXEC \(N'RESTORE HEADERONLY FROM DISK = N''C:\\dbatools\\Test, command and conquer\\it''''s_1\.bak''/,
  );
});

void test('the captured column list matches the server version (56 columns to 2019, 59 from 2022)', () => {
  const count = (sql: string): number =>
    (/DECLARE @rows TABLE \((.*)\);/.exec(sql)?.[1] ?? '').split(' NULL').length - 1;
  assert.equal(count(headerOnlyQuery(stripes, 15)), 56);
  assert.equal(count(headerOnlyQuery(stripes, 16)), 59);
  assert.equal(count(headerOnlyQuery(stripes, 11)), 53);
  assert.equal(count(fileListOnlyQuery(stripes, 1, 13)), 22);
  assert.equal(count(fileListOnlyQuery(stripes, 1, 12)), 21);
  assert.match(fileListOnlyQuery(stripes, 4, 16), /WITH FILE = 4;'\)/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackupHeader } from './headers.ts';
import { metaFromHeader, recordFromMeta } from './manifest-meta.ts';

const header: BackupHeader = {
  record: {
    backupSetGuid: 'cccccccc-0000-4000-8000-000000000001',
    type: 'log',
    firstLsn: 3765680000057920000012345n,
    lastLsn: 3765680000057920000099999n,
    checkpointLsn: 3765680000057920000012000n,
    databaseBackupLsn: 3765680000057920000000001n,
    differentialBaseLsn: null,
    differentialBaseGuid: null,
    recoveryForkId: 'aaaaaaaa-0000-4000-8000-000000000001',
    firstRecoveryForkId: 'aaaaaaaa-0000-4000-8000-000000000001',
    forkPointLsn: null,
    familyGuid: 'ffffffff-0000-4000-8000-000000000001',
    isCopyOnly: false,
    isDamaged: false,
    hasBulkLoggedData: false,
    hasBackupChecksums: true,
    utcOffsetMinutes: 60,
    start: new Date('2026-03-29T00:30:00.000Z'),
    finish: new Date('2026-03-29T00:31:05.250Z'),
    files: ['/staging/Sales_log.trn'],
    position: 1,
    server: 'SQL1',
    database: "Sales, 'x'",
    availabilityGroup: null,
  },
  hasBackupChecksums: true,
  compressed: false,
  isSnapshot: false,
  beginsLogChain: false,
  forkPointLsn: null,
  recoveryModel: 'FULL',
  databaseVersion: 957,
  backupSize: '1048576',
  compressedBackupSize: '1048576',
  keyAlgorithm: null,
  encryptorType: null,
  serverUtcOffsetMinutes: 60,
};

void test('the manifest meta survives JSON and gives back the same record with repository files', () => {
  const meta = metaFromHeader(header, [], ['Sales_log.trn'], true);
  const stored = JSON.parse(JSON.stringify(meta)) as Record<string, unknown>;
  assert.equal((stored.set as Record<string, unknown>).FirstLSN, '3765680000057920000012345');
  const back = recordFromMeta('abcd1234', stored);
  assert.deepEqual(back, { ...header.record, files: ['Sales_log.trn'] });
});

void test('a manifest written before the set recorded its fork point gives it back from beside the set', () => {
  const crossing = {
    ...header,
    record: { ...header.record, recoveryForkId: 'bbbbbbbb-0000-4000-8000-000000000002' },
    forkPointLsn: 3765680000057920000050000n,
  };
  const stored = JSON.parse(
    JSON.stringify(metaFromHeader(crossing, [], ['Sales_log.trn'], true)),
  ) as Record<string, unknown>;
  assert.equal(stored.forkPointLsn, '3765680000057920000050000');
  delete (stored.set as Record<string, unknown>).ForkPointLSN;
  assert.equal(recordFromMeta('abcd1234', stored).forkPointLsn, 3765680000057920000050000n);
});

void test('a manifest that is not a SQL Server backup is refused with the backup named', () => {
  assert.throws(
    () => recordFromMeta('abcd1234', { files: 3 }),
    /backup abcd1234: not a SQL Server backup manifest/,
  );
  assert.throws(
    () =>
      recordFromMeta('abcd1234', {
        sqlserver: 1,
        set: { BackupSetGUID: 'x', Type: 'L' },
        artifacts: [],
      }),
    /backup abcd1234: .*missing/,
  );
});

void test("a manifest written before sets kept their offset gives the record the backup's offset", () => {
  const meta = metaFromHeader(header, [], ['Sales_log.trn'], true);
  const { UtcOffsetMinutes, ...older } = meta.set;
  assert.equal(UtcOffsetMinutes, 60);
  const back = recordFromMeta('abcd1234', { ...meta, set: older, serverUtcOffsetMinutes: 120 });
  assert.equal(back.utcOffsetMinutes, 120);
});

void test('a manifest written before sets kept HasBackupChecksums takes it from the header facts', () => {
  for (const has of [true, false]) {
    const meta = metaFromHeader({ ...header, hasBackupChecksums: has }, [], ['x.trn'], true);
    const { HasBackupChecksums, ...older } = meta.set;
    assert.equal(HasBackupChecksums, true, 'the set itself records what its header said');
    assert.equal(recordFromMeta('abcd1234', { ...meta, set: older }).hasBackupChecksums, has);
  }
});

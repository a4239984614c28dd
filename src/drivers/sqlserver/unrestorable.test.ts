import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SourceError } from '../../errors.ts';
import type { BackupRecord } from '../../repository/types.ts';
import { describeUnrestorable, recordedGuids, unrestorableRecords } from './unrestorable.ts';

const NUL_LOG = {
  BackupSetGUID: 'AAAAAAAA-0000-0000-0000-000000000001',
  Type: 'L',
  FirstLSN: '34000000016800001',
  LastLSN: '34000000019700001',
  BackupStartDate: '2026-03-01T06:00:00Z',
  BackupFinishDate: '2026-03-01T06:01:00Z',
  DatabaseName: 'Sales',
  BackupPath: ['NUL'],
};
const LOST_FULL = {
  ...NUL_LOG,
  BackupSetGUID: 'bbbbbbbb-0000-0000-0000-000000000002',
  Type: 'D',
  BackupPath: ['/var/opt/mssql/backup/hbr/Sales_full.bak'],
};

function backup(meta: Record<string, unknown>, source = 'sales'): BackupRecord {
  return { source, kind: 'sqlserver', shortId: '0123abcd', meta } as unknown as BackupRecord;
}

void test('the sets a backup recorded count as told, whole or (manifests before them) as GUIDs', () => {
  const backups = [
    backup({ discarded: ['cccccccc-0000-0000-0000-000000000003'] }),
    backup({ discarded: [NUL_LOG], lost: [LOST_FULL] }),
    backup(
      { discarded: [{ ...NUL_LOG, BackupSetGUID: 'dddddddd-0000-0000-0000-000000000004' }] },
      'other',
    ),
  ];
  assert.deepEqual(
    [...recordedGuids(backups, 'sales', 'discarded')],
    ['cccccccc-0000-0000-0000-000000000003', 'aaaaaaaa-0000-0000-0000-000000000001'],
  );
  assert.deepEqual([...recordedGuids(backups, 'sales', 'lost')], [LOST_FULL.BackupSetGUID]);
});

void test('the sets recorded whole come back as records, and say why no restore can read them', () => {
  const [nul, lost] = unrestorableRecords(
    backup({ discarded: [NUL_LOG, 'old-guid'], lost: [LOST_FULL] }),
  );
  assert.equal(
    describeUnrestorable(nul!),
    'the log backup at 2026-03-01T06:01:00.000Z (LSN 34000000016800001 → 34000000019700001, aaaaaaaa-0000-0000-0000-000000000001), written to the null device (NUL) and discarded',
  );
  assert.match(
    describeUnrestorable(lost!),
    /^the full backup at .*, taken by hbr \(\/var\/opt\/mssql\/backup\/hbr\/Sales_full\.bak\) but not in the repository \(its commit failed\)$/,
  );
  assert.throws(
    () => unrestorableRecords(backup({ lost: [{ ...LOST_FULL, LastLSN: 'x' }] })),
    (e: unknown) => e instanceof SourceError && /backup 0123abcd/.test(e.message),
  );
});

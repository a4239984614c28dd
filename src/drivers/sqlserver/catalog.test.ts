import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rec, sqlBackup } from '../../../test/sqlserver/build.ts';
import type { BackupSetRecord } from './backup-set.ts';
import { buildCatalog } from './catalog.ts';
import { planRestore } from './chain.ts';
import { recordToJson } from './plan-json.ts';

const full = rec('full', 100n, 200n, 10);
const log1 = rec('log', 150n, 400n, 30);
const log2 = rec('log', 400n, 500n, 50);
// A VM-level VSS snapshot as msdb showed it before is_snapshot and device_type were read: a
// copy-only full with a GUID for its path and a higher LastLSN than hbr's full.
const vss = rec('full', 300n, 350n, 40, {
  isCopyOnly: true,
  files: ['{6E1F5C2B-9D4A-4F7B-8E3C-2A1B0C9D8E7F}'],
});
const dbaLog = rec('log', 500n, 600n, 60, { files: ['D:\\manual\\Sales.trn'] });
const guids = (sets: readonly BackupSetRecord[]): string[] => sets.map((s) => s.backupSetGuid);

void test('a full that a manifest from before the snapshot filter recorded as foreign is never a base', () => {
  // Older manifests wrote the sets without IsSnapshot: whether this full is a snapshot is unknown.
  const older = sqlBackup(log2, 3, [recordToJson(vss), recordToJson(dbaLog)]);
  const catalog = buildCatalog([sqlBackup(full, 1), sqlBackup(log1, 2), older], 'sales');
  assert.ok(!catalog.records.some((r) => r.backupSetGuid === vss.backupSetGuid));
  // The DBA's log still closes the chain: a snapshot is never a log backup.
  const plan = planRestore(catalog.records, { kind: 'latest' });
  assert.deepEqual(guids(plan.steps), guids([full, log1, log2, dbaLog]));
});

void test("a DBA's ordinary full that an older manifest recorded stays a possible base", () => {
  // Not copy-only, on a disk path: no snapshot. It may be the base of hbr's differentials, and
  // msdb may have purged it since.
  const dbaFull = rec('full', 300n, 350n, 40, { files: ['D:\\manual\\Sales_full.bak'] });
  // A VSS full that truncates the log (not copy-only), its device numbered as VSS writers do.
  const numbered = rec('full', 310n, 360n, 42, {
    files: ['{6E1F5C2B-9D4A-4F7B-8E3C-2A1B0C9D8E7F}1'],
  });
  const older = sqlBackup(log2, 3, [dbaFull, vss, numbered].map(recordToJson));
  const catalog = buildCatalog([sqlBackup(full, 1), sqlBackup(log1, 2), older], 'sales');
  assert.ok(catalog.records.some((r) => r.backupSetGuid === dbaFull.backupSetGuid));
  assert.ok(!catalog.records.some((r) => r.backupSetGuid === vss.backupSetGuid));
  assert.ok(!catalog.records.some((r) => r.backupSetGuid === numbered.backupSetGuid));
});

void test('a foreign full recorded as checked (IsSnapshot false) is a base as before', () => {
  const checked = { ...recordToJson(vss), IsSnapshot: false };
  const newer = sqlBackup(log2, 3, [checked, { ...recordToJson(dbaLog), IsSnapshot: false }]);
  const catalog = buildCatalog([sqlBackup(full, 1), sqlBackup(log1, 2), newer], 'sales');
  const plan = planRestore(catalog.records, { kind: 'latest' });
  assert.equal(plan.steps[0]!.backupSetGuid, vss.backupSetGuid);
});

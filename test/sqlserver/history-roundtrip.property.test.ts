/** Records written as JSON (the manifest / `hbr sqlserver history` shape) read back identical. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import type { BackupSetRecord } from '../../src/drivers/sqlserver/backup-set.ts';
import { parseHistoryJson } from '../../src/drivers/sqlserver/history.ts';
import { recordToJson } from '../../src/drivers/sqlserver/plan-json.ts';

const lsn = fc.bigInt({ min: 0n, max: 10n ** 25n - 1n });
const guid = fc.uuid().map((g) => g.toLowerCase());
const date = fc.date({
  min: new Date('2000-01-01T00:00:00Z'),
  max: new Date('2099-12-31T00:00:00Z'),
  noInvalidDate: true,
});
const name = fc
  .string({ minLength: 1, maxLength: 40 })
  .filter((s) => s.trim() !== '' && !s.includes('\0'));

const recordArb: fc.Arbitrary<BackupSetRecord> = fc
  .record({
    backupSetGuid: guid,
    type: fc.constantFrom('full', 'diff', 'log'),
    firstLsn: lsn,
    lastLsn: lsn,
    checkpointLsn: fc.option(lsn),
    databaseBackupLsn: fc.option(lsn),
    differentialBaseLsn: fc.option(lsn),
    differentialBaseGuid: fc.option(guid),
    recoveryForkId: fc.option(guid),
    firstRecoveryForkId: fc.option(guid),
    forkPointLsn: fc.option(lsn),
    familyGuid: fc.option(guid),
    isCopyOnly: fc.boolean(),
    isDamaged: fc.boolean(),
    hasBulkLoggedData: fc.boolean(),
    hasBackupChecksums: fc.option(fc.boolean()),
    utcOffsetMinutes: fc.option(fc.integer({ min: -48, max: 48 }).map((q) => q * 15)),
    start: date,
    finish: date,
    files: fc.array(name, { minLength: 1, maxLength: 4 }).map((f) => [...new Set(f)]),
    position: fc.integer({ min: 1, max: 32767 }),
    server: fc.option(name),
    database: name,
    availabilityGroup: fc.option(name),
  })
  .map((r) => ({ ...r })); // plain objects: fc.record builds them without a prototype

void it('any record survives JSON text with its LSNs, GUIDs, dates and names exact', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(recordArb, { selector: (r) => r.backupSetGuid, maxLength: 5 }),
      (records) => {
        const text = JSON.stringify(records.map(recordToJson));
        assert.deepEqual(parseHistoryJson(text, 'roundtrip').records, records);
      },
    ),
  );
});

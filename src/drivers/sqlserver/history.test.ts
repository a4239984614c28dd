import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHbrError } from '../../errors.ts';
import { parseHistoryJson } from './history.ts';

const row = (over: Record<string, string> = {}): string => {
  const base: Record<string, string> = {
    BackupSetGUID: '"CBE03448-EBD3-4831-80BF-8F5181E4E385"',
    BackupTypeDescription: '"Database"',
    DatabaseName: '"Sales"',
    FirstLSN: '3765680000057920000012345',
    LastLSN: '3765680000057920000099999',
    CheckpointLSN: '3765680000057920000012345',
    DatabaseBackupLSN: '0',
    BackupStartDate: '"\\/Date(1493883737000)\\/"',
    BackupFinishDate: '"2017-05-04T07:43:00"',
    BackupPath: '"C:\\\\b\\\\Sales.bak"',
    ...over,
  };
  return `{${Object.entries(base)
    .map(([k, v]) => `"${k}": ${v}`)
    .join(', ')}}`;
};

void test('LSNs written as 25-digit JSON numbers are read without losing a digit', () => {
  const { records } = parseHistoryJson(`[${row()}]`, 'h.json');
  assert.equal(records[0]!.firstLsn, 3765680000057920000012345n);
  assert.equal(records[0]!.lastLsn, 3765680000057920000099999n);
  assert.equal(records[0]!.databaseBackupLsn, 0n);
});

void test('dates in both forms become instants, GUIDs become lower-case', () => {
  const r = parseHistoryJson(row(), 'h.json').records[0]!;
  assert.equal(r.start.toISOString(), '2017-05-04T07:42:17.000Z');
  assert.equal(r.finish.toISOString(), '2017-05-04T07:43:00.000Z');
  assert.equal(r.backupSetGuid, 'cbe03448-ebd3-4831-80bf-8f5181e4e385');
  assert.deepEqual(r.files, ['C:\\b\\Sales.bak']);
  assert.equal(r.type, 'full');
});

void test('stripes of one set, listed as separate rows or as an array, become one record', () => {
  const a = row({ BackupPath: '"s1.bak"' });
  const b = row({ BackupPath: '["s2.bak", "s3.bak"]' });
  const { records } = parseHistoryJson(`[${a}, ${b}]`, 'h.json');
  assert.equal(records.length, 1);
  assert.deepEqual(records[0]!.files, ['s1.bak', 's2.bak', 's3.bak']);
});

void test('two rows of one set with different LSNs are refused with the row named', () => {
  const a = row();
  const b = row({ LastLSN: '1' });
  assert.throws(() => parseHistoryJson(`[${a}, ${b}]`, 'h.json'), /h\.json: item 1: .*different/);
});

void test('types are read from descriptions, msdb letters and HEADERONLY codes; others are skipped', () => {
  const types = [
    ['"Database Differential"', 'diff'],
    ['"Transaction Log"', 'log'],
    ['"L"', 'log'],
    ['"I"', 'diff'],
  ] as const;
  for (const [text, type] of types) {
    const r = parseHistoryJson(row({ BackupTypeDescription: text }), 'h').records[0]!;
    assert.equal(r.type, type);
  }
  const coded = row({ BackupTypeDescription: 'null', BackupType: '5' });
  assert.equal(parseHistoryJson(coded, 'h').records[0]!.type, 'diff');
  const file = parseHistoryJson(row({ BackupTypeDescription: '"File or Filegroup"' }), 'h');
  assert.equal(file.records.length, 0);
  assert.match(file.skipped[0]!.reason, /File or Filegroup/);
});

void test('missing or malformed required fields are usage errors naming the item and field', () => {
  const noLsn = row({ FirstLSN: 'null' });
  assert.throws(
    () => parseHistoryJson(`[${noLsn}]`, 'h.json'),
    (e: unknown) =>
      isHbrError(e) && e.code === 'USAGE' && /item 0: FirstLSN is missing/.test(e.message),
  );
  assert.throws(
    () => parseHistoryJson(row({ BackupFinishDate: '"soon"' }), 'h'),
    /BackupFinishDate/,
  );
  assert.throws(() => parseHistoryJson('[{', 'h.json'), /h\.json: not JSON/);
});

void test('a UTF-8 byte order mark is tolerated', () => {
  assert.equal(parseHistoryJson(`\uFEFF[${row()}]`, 'h').records.length, 1);
});

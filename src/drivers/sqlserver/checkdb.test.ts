import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCheckDb, parseCheckDbRows } from './checkdb.ts';

void test('CHECKDB is built with NO_INFOMSGS and TABLERESULTS and never repairs', () => {
  assert.equal(
    buildCheckDb('Sales]x'),
    'DBCC CHECKDB ([Sales]]x]) WITH NO_INFOMSGS, ALL_ERRORMSGS, TABLERESULTS;',
  );
  assert.match(
    buildCheckDb('S', { physicalOnly: true, maxDop: 4 }),
    /TABLERESULTS, PHYSICAL_ONLY, MAXDOP = 4;$/,
  );
  assert.doesNotMatch(buildCheckDb('S'), /REPAIR/);
});

void test('no rows means a clean database', () => {
  assert.deepEqual(parseCheckDbRows([]), {
    ok: true,
    allocationErrors: 0,
    consistencyErrors: 0,
    errors: [],
    messages: [],
  });
});

void test('corruption rows and the summary counts make the result fail', () => {
  const rows = [
    {
      Error: 8928,
      Level: 16,
      State: 1,
      MessageText: 'Object ID 565577053, index ID 1: Page (1:153) could not be processed.',
      RepairLevel: 'repair_allow_data_loss',
      ObjectId: 565577053,
      IndexId: 1,
    },
    {
      Error: 8989,
      Level: 10,
      State: 1,
      MessageText:
        "CHECKDB found 0 allocation errors and 2 consistency errors in database 'Sales'.",
      RepairLevel: null,
    },
  ];
  const result = parseCheckDbRows(rows);
  assert.equal(result.ok, false);
  assert.equal(result.consistencyErrors, 2);
  assert.equal(result.allocationErrors, 0);
  assert.deepEqual(
    result.errors.map((e) => [e.error, e.objectId, e.repairLevel]),
    [[8928, 565577053, 'repair_allow_data_loss']],
  );
});

void test('a summary of zero errors with informational rows only is clean', () => {
  const rows = [
    {
      Error: 8989,
      Level: 10,
      MessageText: "CHECKDB found 0 allocation errors and 0 consistency errors in database 'S'.",
    },
  ];
  assert.equal(parseCheckDbRows(rows).ok, true);
});

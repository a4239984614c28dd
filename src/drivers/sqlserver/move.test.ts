import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackupFileEntry } from './headers.ts';
import { computeMoves } from './move.ts';

const file = (
  logicalName: string,
  physicalName: string,
  type: BackupFileEntry['type'],
  isPresent = true,
): BackupFileEntry => ({
  logicalName,
  physicalName,
  type,
  fileGroupName: null,
  fileId: 1,
  sizeBytes: null,
  isPresent,
});

void test('every present file gets a target named after the new database, logs in the log folder', () => {
  const files = [
    file('Sales', 'D:\\data\\Sales.mdf', 'D'),
    file('Sales_2', 'D:\\data\\sales_2.ndf', 'D'),
    file('Sales_log', 'L:\\log\\Sales_log.ldf', 'L'),
    file('gone', 'D:\\data\\gone.ndf', 'D', false),
  ];
  const moves = computeMoves(files, {
    sourceDatabase: 'Sales',
    targetDatabase: "Sales, before 'delete'",
    dataDirectory: '/var/opt/mssql/data',
    logDirectory: '/var/opt/mssql/log/',
  });
  assert.deepEqual(moves, [
    { logicalName: 'Sales', physicalName: "/var/opt/mssql/data/Sales, before 'delete'.mdf" },
    { logicalName: 'Sales_2', physicalName: "/var/opt/mssql/data/Sales, before 'delete'_2.ndf" },
    { logicalName: 'Sales_log', physicalName: "/var/opt/mssql/log/Sales, before 'delete'_log.ldf" },
  ]);
});

void test('names without the database get a prefix, collisions a suffix, FILESTREAM a folder', () => {
  const files = [
    file('a', 'C:\\x\\data.mdf', 'D'),
    file('b', 'C:\\y\\data.mdf', 'D'),
    file('fs', 'C:\\x\\fsdir', 'S'),
  ];
  const moves = computeMoves(files, {
    sourceDatabase: 'S',
    targetDatabase: 'T',
    dataDirectory: 'E:\\restore',
  });
  assert.deepEqual(
    moves.map((m) => m.physicalName),
    ['E:\\restore\\T_data.mdf', 'E:\\restore\\T_data_2.mdf', 'E:\\restore\\T_fs'],
  );
});

void test('explicit targets win, and unknown logical names are refused', () => {
  const files = [file('Sales', 'D:\\Sales.mdf', 'D')];
  const o = { sourceDatabase: 'Sales', targetDatabase: 'S2', dataDirectory: 'D:\\' };
  assert.equal(
    computeMoves(files, { ...o, overrides: { sales: 'F:\\x.mdf' } })[0]!.physicalName,
    'F:\\x.mdf',
  );
  assert.throws(
    () => computeMoves(files, { ...o, overrides: { nope: 'F:\\x.mdf' } }),
    /not a file of the backup/,
  );
});

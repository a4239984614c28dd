import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviceList, deviceOf } from './device.ts';
import { quoteName, quoteString } from './quote.ts';

void test('identifiers are bracketed with closing brackets doubled, as QUOTENAME does', () => {
  assert.equal(quoteName('Sales'), '[Sales]');
  assert.equal(quoteName('we[ird]]name'), '[we[ird]]]]name]');
  assert.equal(quoteName("O'Brien, Test; DROP"), "[O'Brien, Test; DROP]");
  assert.equal(quoteName('Test, command and conquer '), '[Test, command and conquer ]');
});

void test('identifiers SQL Server cannot hold are refused', () => {
  assert.throws(() => quoteName(''), /not a valid/);
  assert.throws(() => quoteName('x'.repeat(129)), /not a valid/);
  assert.throws(() => quoteName('a\0b'), /not a valid/);
  assert.equal(quoteName('x'.repeat(128)).length, 130);
});

void test('string literals are Unicode with single quotes doubled', () => {
  assert.equal(quoteString("C:\\it's here\\a.bak"), "N'C:\\it''s here\\a.bak'");
  assert.equal(quoteString("''"), "N''''''");
  assert.equal(quoteString('Ünïcødé ]'), "N'Ünïcødé ]'");
});

void test('devices are typed by their path and listed in order', () => {
  assert.deepEqual(deviceOf('https://acct.blob.core.windows.net/c/a.bak').kind, 'url');
  assert.deepEqual(deviceOf('s3://minio:9000/bucket/a.bak').kind, 'url');
  assert.deepEqual(deviceOf('/var/opt/mssql/backup/a.bak').kind, 'disk');
  assert.equal(
    deviceList([deviceOf("D:\\b\\it's.bak"), deviceOf('https://h/c/x.bak')]),
    "DISK = N'D:\\b\\it''s.bak', URL = N'https://h/c/x.bak'",
  );
});

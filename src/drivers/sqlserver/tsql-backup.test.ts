import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviceOf } from './device.ts';
import { buildBackup } from './tsql-backup.ts';

const disk = [deviceOf('/var/opt/mssql/backup/Sales.bak')];

void test('a default full backup has CHECKSUM on, one set per file, and STATS progress', () => {
  assert.equal(
    buildBackup({ database: 'Sales', type: 'full', devices: disk }),
    "BACKUP DATABASE [Sales] TO DISK = N'/var/opt/mssql/backup/Sales.bak' WITH CHECKSUM, FORMAT, INIT, STATS = 10;",
  );
});

void test('every option appears in the documented form and order', () => {
  const sql = buildBackup({
    database: 'Sales',
    type: 'diff',
    devices: [deviceOf('https://h/c/s1.bak'), deviceOf('https://h/c/s2.bak')],
    compression: true,
    compressionAlgorithm: 'ZSTD',
    encryption: { algorithm: 'AES_256', serverCertificate: 'Backup]Cert' },
    maxTransferSize: 4 * 1024 * 1024,
    bufferCount: 50,
    blockSize: 65536,
    stats: 5,
    name: "Sales diff's",
    description: 'nightly',
  });
  assert.equal(
    sql,
    "BACKUP DATABASE [Sales] TO URL = N'https://h/c/s1.bak', URL = N'https://h/c/s2.bak' WITH CHECKSUM, " +
      'COMPRESSION (ALGORITHM = ZSTD), DIFFERENTIAL, FORMAT, BLOCKSIZE = 65536, BUFFERCOUNT = 50, ' +
      "MAXTRANSFERSIZE = 4194304, NAME = N'Sales diff''s', DESCRIPTION = N'nightly', STATS = 5, " +
      'ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = [Backup]]Cert]);',
  );
});

void test('a copy-only log and a tail-log backup say so', () => {
  assert.match(
    buildBackup({
      database: 'a]b',
      type: 'log',
      devices: disk,
      copyOnly: true,
      compression: false,
    }),
    /^BACKUP LOG \[a\]\]b\] TO DISK = .* WITH CHECKSUM, NO_COMPRESSION, COPY_ONLY, FORMAT/,
  );
  assert.match(
    buildBackup({
      database: 'Sales',
      type: 'log',
      devices: disk,
      noRecovery: true,
      noTruncate: true,
    }),
    /WITH CHECKSUM, NORECOVERY, NO_TRUNCATE, FORMAT, INIT, STATS = 10;$/,
  );
  assert.match(
    buildBackup({ database: 'S', type: 'full', devices: disk, checksum: false, format: false }),
    /WITH NO_CHECKSUM, STATS = 10;$/,
  );
});

void test('impossible combinations are refused before reaching the server', () => {
  const bad: Parameters<typeof buildBackup>[0][] = [
    { database: 'S', type: 'full', devices: [] },
    { database: 'S', type: 'full', devices: Array.from({ length: 65 }, () => disk[0]!) },
    { database: 'S', type: 'diff', devices: disk, copyOnly: true },
    { database: 'S', type: 'full', devices: disk, noRecovery: true },
    { database: 'S', type: 'full', devices: disk, maxTransferSize: 100_000 },
    { database: 'S', type: 'full', devices: disk, maxTransferSize: 8 * 1024 * 1024 },
    { database: 'S', type: 'full', devices: disk, blockSize: 3000 },
    { database: 'S', type: 'full', devices: disk, stats: 0 },
    { database: 'S', type: 'full', devices: disk, compressionAlgorithm: 'ZSTD' },
    { database: 'S', type: 'full', devices: disk, description: 'x'.repeat(256) },
  ];
  for (const options of bad) assert.throws(() => buildBackup(options), /\[sqlserver:backup\]/);
  // 20 MiB is allowed to URL (block blobs and S3 on SQL Server 2022).
  assert.match(
    buildBackup({
      database: 'S',
      type: 'full',
      devices: [deviceOf('s3://h/b/x.bak')],
      maxTransferSize: 20 * 1024 * 1024,
    }),
    /MAXTRANSFERSIZE = 20971520/,
  );
});

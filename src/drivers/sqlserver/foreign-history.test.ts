import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackupSetRecord } from './backup-set.ts';
import type { SqlServerTransport } from './backup-source.ts';
import type { SqlExecutor } from './executor.ts';
import { readForeignHistory } from './foreign-history.ts';

/** msdb rows of one log backup per path. */
function msdbWith(paths: readonly string[]): SqlExecutor {
  const rows = paths.map((path, i) => ({
    BackupSetGUID: `22222222-0000-0000-0000-00000000000${i + 1}`,
    Type: 'L',
    FirstLSN: String(2000 + i * 1000),
    LastLSN: String(3000 + i * 1000),
    CheckpointLSN: '1000',
    DatabaseBackupLSN: '1000',
    BackupStartDate: '2026-03-01T06:00:00',
    BackupFinishDate: '2026-03-01T06:01:00',
    ServerUtcOffsetMinutes: 0,
    ServerName: 'SQL1',
    DatabaseName: 'Sales',
    BackupPath: path,
  }));
  return {
    query: () => Promise.resolve(rows),
    run: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
}

async function foreignPaths(
  paths: readonly string[],
  transport: SqlServerTransport,
): Promise<{ foreign: string[]; warnings: string[] }> {
  const warnings: string[] = [];
  const unrestorable: BackupSetRecord[] = [];
  const settings = { source: 'sales', database: 'Sales', transport };
  // As a backup reads it: with no earlier backup, every unrestorable set is news.
  const got = await readForeignHistory(msdbWith(paths), [], settings, 'SQL1', {
    warnings,
    unrestorable,
    once: true,
  });
  // A restore gets the same sets, and warns only of those its plan crosses (plan-path.ts).
  const quiet: string[] = [];
  const again: BackupSetRecord[] = [];
  const restore = await readForeignHistory(msdbWith(paths), [], settings, 'SQL1', {
    warnings: quiet,
    unrestorable: again,
  });
  assert.deepEqual([restore, again, quiet], [got, unrestorable, []]);
  return { foreign: got.flatMap((r) => r.files), warnings };
}

void test("a DBA's backup in a folder whose name starts like hbr's staging folder is foreign", async () => {
  const staging = { serverPath: 'D:\\hbr', localPath: '/mnt/hbr' };
  const { foreign, warnings } = await foreignPaths(
    ['D:\\hbr-manual\\Sales_adhoc.trn', 'd:/HBR/Sales_log_x.bak', 'D:\\hbr\\Sales_log_y.bak'],
    { kind: 'disk', staging },
  );
  assert.deepEqual(foreign, ['D:\\hbr-manual\\Sales_adhoc.trn']);
  // The other two are hbr's own (Windows paths: any case, either separator) and missing from the repository.
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /msdb shows a log backup hbr took/);
});

void test('Linux staging folders compare case-sensitively and need the separator too', async () => {
  const staging = { serverPath: '/var/opt/mssql/backup/hbr', localPath: '/mnt/hbr' };
  const { foreign, warnings } = await foreignPaths(
    [
      '/var/opt/mssql/backup/hbr2/Sales.trn',
      '/var/opt/mssql/backup/HBR/Sales.trn',
      '/var/opt/mssql/backup/hbr/Sales_log.bak',
    ],
    { kind: 'disk', staging },
  );
  assert.deepEqual(foreign, [
    '/var/opt/mssql/backup/hbr2/Sales.trn',
    '/var/opt/mssql/backup/HBR/Sales.trn',
  ]);
  assert.equal(warnings.length, 1);
});

void test("a DBA's log backup to NUL is no foreign backup to restore, and a warning names the break", async () => {
  const staging = { serverPath: '/var/opt/mssql/backup/hbr', localPath: '/mnt/hbr' };
  const { foreign, warnings } = await foreignPaths(
    ['/var/opt/mssql/backup/dba/Sales_1.trn', 'NUL:', '/var/opt/mssql/backup/dba/Sales_3.trn'],
    { kind: 'disk', staging },
  );
  assert.deepEqual(foreign, [
    '/var/opt/mssql/backup/dba/Sales_1.trn',
    '/var/opt/mssql/backup/dba/Sales_3.trn',
  ]);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /LSN 3000 → 4000.* written to NUL: and discarded: the log chain breaks/,
  );
});

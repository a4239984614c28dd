import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, test } from 'node:test';
import type { BackupRecord } from '../../repository/types.ts';
import type { BackupSetRecord } from './backup-set.ts';
import type { SqlServerTransport } from './backup-source.ts';
import type { SqlExecutor } from './executor.ts';
import {
  readMsdbHistory,
  sortHistory,
  type HistoryContext,
  type SortOptions,
} from './foreign-history.ts';
import { parseHistoryJson } from './history.ts';
import { recordToJson } from './plan-json.ts';

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
  const read = async (opts: SortOptions): Promise<BackupSetRecord[]> =>
    sortHistory(
      await readMsdbHistory(msdbWith(paths), settings, 'SQL1', opts),
      { backups: [] },
      settings,
      opts,
    );
  // As a backup reads it: with no earlier backup, every unrestorable set is news.
  const got = await read({ warnings, unrestorable, once: true });
  // A restore gets the same sets, and warns only of those its plan crosses (plan-path.ts).
  const quiet: string[] = [];
  const again: BackupSetRecord[] = [];
  const restore = await read({ warnings: quiet, unrestorable: again });
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

/*
 * DiffRestore.json, a real history (dbatools): a full, logs _1 to _3, a differential, logs _21 to
 * _25, all in C:\dbatools\RestoreTimeDiff, taken here for hbr's staging folder. The repository
 * holds the full, the differential and _21 to _25; msdb shows _1 to _3 too, after the full.
 */
describe("hbr's sets msdb shows that the repository lacks", () => {
  const history = parseHistoryJson(
    readFileSync(
      new URL('../../../test/fixtures/sqlserver/dbatools/DiffRestore.json', import.meta.url),
      'utf8',
    ),
    'DiffRestore.json',
  );
  const file = (r: BackupSetRecord): string => r.files[0]!.split('\\').pop()!;
  const missing = history.records.filter((r) => /_[123]\.trn$/.test(file(r)));
  const settings = {
    source: 'timediff',
    transport: {
      kind: 'disk' as const,
      staging: { serverPath: 'C:\\dbatools\\RestoreTimeDiff', localPath: '/mnt/hbr' },
    },
  };
  /** The repository's backups: those held, the first reporting `lost` as lost. */
  const backups = (lost: BackupSetRecord[] = []): BackupRecord[] =>
    history.records
      .filter((r) => !missing.includes(r))
      .map((set, i) => {
        const id = (i + 1).toString(16).padStart(64, '0');
        const meta = {
          sqlserver: 1,
          set: recordToJson(set),
          artifacts: ['stripe1.bak'],
          foreign: [],
          ...(i === 0 ? { lost: lost.map(recordToJson) } : {}),
        };
        return { id, shortId: id.slice(0, 8), source: 'timediff', kind: 'sqlserver', meta };
      }) as unknown as BackupRecord[];
  /** How a backup takes msdb's sets. */
  const sort = (context: HistoryContext) => {
    const warnings: string[] = [];
    const unrestorable: BackupSetRecord[] = [];
    const foreign = sortHistory(history, context, settings, { warnings, unrestorable, once: true });
    return { foreign, warnings, lost: unrestorable.map(file) };
  };

  it('are lost, and warned of once, when nothing else explains them', () => {
    const { foreign, warnings, lost } = sort({ backups: backups() });
    assert.deepEqual([foreign, lost], [[], missing.map(file)]);
    assert.equal(warnings.filter((w) => /that is not in the repository: /.test(w)).length, 3);
  });

  it('are not lost when forget removed them', () => {
    const forgotten = new Set(missing.map((r) => r.backupSetGuid));
    assert.deepEqual(sort({ backups: backups(), forgotten }), {
      foreign: [],
      warnings: [],
      lost: [],
    });
  });

  it('are not lost yet while another backup of the source runs, but for one an earlier backup called lost', () => {
    const running = ['backup by pid 4242 on db2 since 2017-05-04T07:59:00.000Z'];
    const [one, two, three] = missing;
    const { warnings, lost } = sort({ backups: backups([two!]), running });
    assert.deepEqual(lost, [file(two!)]);
    assert.deepEqual(
      warnings.map(
        (w) =>
          /\(([0-9a-f-]{36})\) that another backup of the source, still running \(backup by pid 4242 on db2/.exec(
            w,
          )?.[1],
      ),
      [one!.backupSetGuid, three!.backupSetGuid],
    );
  });
});

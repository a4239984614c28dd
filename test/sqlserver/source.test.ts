/**
 * The SQL Server source end to end without a server: the real repository, the real blob endpoint,
 * and a stand-in session (`stand-in-server.ts`) that answers the T-SQL as SQL Server documents it
 * and writes BACKUP TO URL streams through the Azure SDK client.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { buffer } from 'node:stream/consumers';
import {
  backupSqlServerSource,
  type SqlServerBackupResult,
  type SqlServerSourceSettings,
} from '../../src/drivers/sqlserver/backup-source.ts';
import { buildCatalog } from '../../src/drivers/sqlserver/catalog.ts';
import { planRestore } from '../../src/drivers/sqlserver/chain.ts';
import { restoreSqlServerSource } from '../../src/drivers/sqlserver/restore-source.ts';
import { PlanError, SourceError, UsageError } from '../../src/errors.ts';
import {
  artifactRepository,
  type BackupRecord,
  type OpenRepository,
} from '../../src/repository/index.ts';
import { tempDir } from '../helpers/temp.ts';
import { diskStandIn, newRepo } from './disk-stand-in.ts';
import { createStandInServer, type StandInServer } from './stand-in-server.ts';

const SAS = 'sv=2022-11-02&ss=b&srt=co&sp=rwdl&se=2030-01-01&sig=c2VjcmV0LXNpZw%3D%3D';
const DB = 'Hartonomous';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

function guidOf(set: unknown): string {
  return (set as Record<string, string>).BackupSetGUID!.toLowerCase();
}

describe('a SQL Server source backed up and restored through the URL endpoint', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let repo: OpenRepository;
  let sql: StandInServer;
  let settings: SqlServerSourceSettings;
  let base = '';
  const taken: { type: string; record: BackupRecord; finish: Date; guid: string }[] = [];

  before(async () => {
    dir = await tempDir();
    repo = await newRepo(dir.path);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    settings = {
      source: 'core-sql',
      database: DB,
      transport: {
        kind: 'url',
        url: { publicUrl: base, signature: 'c2VjcmV0LXNpZw==', host: '127.0.0.1', port },
      },
    };
    sql = createStandInServer({ sas: SAS });
    sql.createDatabase(DB);
    // full → work → diff → work → log → work → log
    for (const type of ['full', 'diff', 'log', 'log'] as const) {
      const { record } = await backupSqlServerSource(sql, repo, settings, type);
      taken.push({
        type,
        record,
        finish: new Date(sql.now.getTime() - 1000),
        guid: sql.lastBackupGuid(),
      });
      sql.write(DB, 10);
      sql.now = new Date(sql.now.getTime() + 15 * 60_000);
    }
  });
  after(async () => {
    await dir.remove();
  });

  it('records the type, the header facts and the file list of each backup in its manifest', () => {
    assert.deepEqual(
      taken.map((t) => t.record.type),
      ['full', 'diff', 'log', 'log'],
    );
    const headers = sql.statements.filter((s) => s.includes('RESTORE HEADERONLY'));
    assert.equal(headers.length, 4);
    for (const t of taken) {
      const meta = t.record.meta;
      const set = meta.set as Record<string, unknown>;
      assert.equal(set.BackupSetGUID, t.guid);
      assert.equal(typeof set.FirstLSN, 'string');
      assert.match(String(set.LastLSN), /^340000000\d+$/);
      assert.equal(meta.verified, true);
      assert.equal(meta.hasBackupChecksums, true);
      assert.deepEqual(
        (meta.files as { logicalName: string }[]).map((f) => f.logicalName),
        [DB, `${DB}_log`],
      );
      assert.equal(t.record.summary.files, 1);
    }
    // The diff names its base full; the first log starts where the full's log chain begins.
    const full = taken[0]!.record.meta.set as Record<string, string>;
    const diff = taken[1]!.record.meta.set as Record<string, string>;
    assert.equal(diff.DifferentialBaseGUID, full.BackupSetGUID);
    assert.equal(diff.DifferentialBaseLSN, full.CheckpointLSN);
    const log1 = taken[2]!.record.meta.set as Record<string, string>;
    const log2 = taken[3]!.record.meta.set as Record<string, string>;
    assert.equal(log2.FirstLSN, log1.LastLSN);
    // Every statement: CHECKSUM on, no native compression (hbr dedups), VERIFYONLY after each.
    const backups = sql.statements.filter((s) => s.startsWith('BACKUP '));
    assert.ok(backups.every((s) => s.includes('CHECKSUM') && s.includes(`URL = N'${base}/hbr/`)));
    assert.equal(sql.statements.filter((s) => s.startsWith('RESTORE VERIFYONLY')).length, 4);
  });

  it('stores exactly the stream SQL Server wrote, and the next full adds little', async () => {
    const artifacts = artifactRepository(repo);
    const [artifact] = await artifacts.listArtifacts(taken[0]!.record.id);
    assert.ok(artifact);
    const bytes = await buffer(artifacts.openArtifact(taken[0]!.record.id, artifact.path));
    assert.equal(bytes.length, 700 * 8192);
    const second = await backupSqlServerSource(sql, repo, settings, 'full');
    assert.ok(
      second.record.summary.addedBytes < second.record.summary.bytes / 2,
      `a second full of an unchanged database added ${second.record.summary.addedBytes} bytes`,
    );
  });

  it('plans from the manifests alone: full, diff and both logs, STOPAT between the logs', () => {
    const catalog = buildCatalog(
      taken.map((t) => t.record),
      'core-sql',
    );
    const at = new Date(taken[2]!.finish.getTime() + 5 * 60_000);
    const plan = planRestore(catalog.records, { kind: 'time', at });
    assert.deepEqual(
      plan.steps.map((s) => s.backupSetGuid),
      taken.map((t) => t.guid),
    );
    assert.equal(plan.stopAt?.toISOString(), at.toISOString());
  });

  it('--dry-run prints the exact T-SQL of a point-in-time restore under a new name, with MOVE for every file', async () => {
    const at = new Date(taken[2]!.finish.getTime() + 5 * 60_000);
    const before = sql.statements.length;
    const result = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'time', at },
      as: "Hart [pit], 'copy'",
      dryRun: true,
    });
    const url = (t: (typeof taken)[number]): string =>
      `${base}/hbr/${t.record.id.slice(0, 16)}-${String((t.record.meta.artifacts as string[])[0])}`;
    const n = "[Hart [pit]], 'copy']";
    const move =
      "MOVE N'Hartonomous' TO N'/var/opt/mssql/data/Hart [pit], ''copy''.mdf', " +
      "MOVE N'Hartonomous_log' TO N'/var/opt/mssql/log/Hart [pit], ''copy''_log.ldf'";
    // The server (SQL Server 2022, zone UTC) converts the instant at the offset in force then.
    const stopAt =
      'DECLARE @stopat varchar(23) = CONVERT(varchar(23), CONVERT(datetime2(3), CONVERT(datetimeoffset(3), ' +
      `N'${at.toISOString().slice(0, 23)}+00:00') AT TIME ZONE N'UTC'), 126);\n`;
    assert.deepEqual(
      result.script.map((s) => s.sql),
      [
        `RESTORE DATABASE ${n} FROM URL = N'${url(taken[0]!)}' WITH NORECOVERY, CHECKSUM, STATS = 10, ${move};`,
        `RESTORE DATABASE ${n} FROM URL = N'${url(taken[1]!)}' WITH NORECOVERY, CHECKSUM, STATS = 10, ${move};`,
        `RESTORE LOG ${n} FROM URL = N'${url(taken[2]!)}' WITH NORECOVERY, CHECKSUM, STATS = 10;`,
        `${stopAt}RESTORE LOG ${n} FROM URL = N'${url(taken[3]!)}' WITH NORECOVERY, CHECKSUM, STATS = 10, STOPAT = @stopat;`,
        `RESTORE DATABASE ${n} WITH RECOVERY;`,
        `SELECT state_desc FROM sys.databases WHERE name = N'Hart [pit], ''copy''';`,
        `ALTER DATABASE ${n} SET MULTI_USER;`,
      ],
    );
    // A dry run only reads: server facts and whether the target exists.
    assert.ok(sql.statements.slice(before).every((s) => s.startsWith('SELECT')));
    assert.equal(result.checks, null);
  });

  it('runs the restore from the repository through the endpoint, then CHECKDB, row counts, CLR and smoke queries', async () => {
    const at = new Date(taken[2]!.finish.getTime() + 5 * 60_000);
    const result = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'time', at },
      as: 'Hart_pit',
      checks: {
        rowCounts: [{ table: 'dbo.Atom', min: 1 }],
        smokeQueries: [{ name: 'projection', sql: 'SELECT dbo.fn_ProjectTo3D(1);' }],
      },
    });
    // The stand-in accepted each RESTORE only because the bytes served were the bytes written.
    assert.deepEqual(
      sql.restored.get('Hart_pit'),
      taken.map((t) => t.guid),
    );
    assert.ok(result.checks?.ok);
    assert.equal(result.checks.checkdb?.ok, true);
    assert.equal(result.checks.rowCounts[0]?.table, 'dbo.Atom');
    assert.deepEqual(result.checks.smokeQueries, [{ name: 'projection', ok: true, error: null }]);
    const kinds = result.script.map((s) => s.kind);
    assert.deepEqual(kinds, [
      'restore',
      'restore',
      'restore',
      'restore',
      'recover',
      'check-online',
      'multi-user',
    ]);
    assert.ok(
      sql.statements.some((s) => s.startsWith('DBCC CHECKDB ([Hart_pit]) WITH NO_INFOMSGS')),
    );
  });

  it('refuses to overwrite an existing database without --replace', async () => {
    await assert.rejects(
      restoreSqlServerSource(sql, repo, settings, { target: { kind: 'latest' }, dryRun: true }),
      (e: unknown) =>
        e instanceof UsageError &&
        /Hartonomous: the database exists; pass --replace/.test(e.message),
    );
  });

  it('fails precisely: no full before the target, and a target after the last log needs a tail-log backup', async () => {
    await assert.rejects(
      restoreSqlServerSource(sql, repo, settings, {
        target: { kind: 'time', at: new Date('2026-10-01T00:00:00Z') },
        as: 'early',
        dryRun: true,
      }),
      (e: unknown) => e instanceof PlanError && e.reason === 'NO_FULL_BEFORE_TARGET',
    );
    await assert.rejects(
      restoreSqlServerSource(sql, repo, settings, {
        target: { kind: 'time', at: new Date(sql.now.getTime() + 3_600_000) },
        as: 'late',
        dryRun: true,
      }),
      (e: unknown) => e instanceof PlanError && e.reason === 'TAIL_LOG_NEEDED',
    );
  });

  it('restores in place with --replace: SINGLE_USER, then a tail-log backup into the repository, then the chain including it', async () => {
    sql.write(DB, 3);
    const before = sql.statements.length;
    const result = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'latest' },
      replace: true,
    });
    const ran = sql.statements.slice(before);
    const single = ran.findIndex((s) =>
      s.startsWith('ALTER DATABASE [Hartonomous] SET SINGLE_USER'),
    );
    const tail = ran.findIndex((s) => s.startsWith('BACKUP LOG [Hartonomous]'));
    assert.ok(single >= 0 && tail > single, 'SINGLE_USER comes before the tail-log backup');
    assert.match(ran[tail]!, /NORECOVERY, NO_TRUNCATE/);
    const tailBackup = result.tailLogBackup;
    assert.ok(tailBackup);
    assert.ok(tailBackup.tags.includes('tail-log'));
    assert.equal(
      result.plan.steps.at(-1)?.backupSetGuid,
      (tailBackup.meta.set as Record<string, string>).BackupSetGUID,
    );
    assert.equal(result.script.filter((s) => s.kind === 'single-user').length, 0);
    assert.match(result.script[0]!.sql, /REPLACE/);
  });
});

describe('a restore that fails after the tail-log backup', () => {
  it('says the database is RESTORING and where its tail is, and a second run restores including the tail', async (t) => {
    const { sql, repo, settings } = await ordersWithLog(t);
    sql.write('Orders', 2);
    sql.failNext(/^RESTORE LOG/, 'Msg 3203, Level 16: Read on "…" failed: 1117 (I/O device error)');
    await assert.rejects(
      restoreSqlServerSource(sql, repo, settings, { target: { kind: 'latest' }, replace: true }),
      (e: unknown) =>
        e instanceof SourceError &&
        /I\/O device error.*Orders is left RESTORING; its tail-log backup is hbr backup [0-9a-f]{8}/.test(
          e.message,
        ),
    );
    const again = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'latest' },
      replace: true,
    });
    assert.equal(again.tailLogBackup, null, 'a RESTORING database has no tail to back up');
    const tail = (await repo.backups()).find((b) => b.tags.includes('tail-log'));
    assert.ok(tail);
    assert.equal(
      again.plan.steps.at(-1)?.backupSetGuid,
      (tail.meta.set as Record<string, string>).BackupSetGUID,
    );
    assert.equal(sql.restored.get('Orders')?.length, 3);
  });
});

/**
 * Orders with a full and a log backup in a repository (URL transport), in a temporary folder
 * removed when test `t` ends.
 */
async function ordersWithLog(t: TestContext): Promise<{
  sql: StandInServer;
  repo: OpenRepository;
  settings: SqlServerSourceSettings;
  state: () => Promise<unknown>;
}> {
  const dir = await tempDir();
  t.after(() => dir.remove());
  const repo = await newRepo(dir.path);
  const sql = createStandInServer({ sas: SAS });
  sql.createDatabase('Orders');
  const settings: SqlServerSourceSettings = {
    source: 'orders',
    database: 'Orders',
    transport: { kind: 'url', url: { signature: 'c2VjcmV0LXNpZw==' } },
  };
  await backupSqlServerSource(sql, repo, settings, 'full');
  sql.write('Orders', 2);
  await backupSqlServerSource(sql, repo, settings, 'log');
  const state = async (): Promise<unknown> =>
    (await sql.query(`SELECT state_desc FROM sys.databases WHERE name = N'Orders';`))[0]
      ?.state_desc;
  return { sql, repo, settings, state };
}

describe('an in-place restore to a target no backup reaches', () => {
  it("refuses a time after the server's clock before the tail-log backup, leaving the database ONLINE", async (t) => {
    const { sql, repo, settings, state } = await ordersWithLog(t);
    const before = sql.statements.length;
    const at = new Date(sql.now.getTime() + 3_600_000);
    await assert.rejects(
      restoreSqlServerSource(sql, repo, settings, {
        target: { kind: 'time', at },
        replace: true,
      }),
      (e: unknown) =>
        e instanceof PlanError &&
        e.reason === 'TARGET_AFTER_NOW' &&
        /after the server's clock.*nothing was changed/.test(e.message),
    );
    assert.equal(await state(), 'ONLINE');
    assert.deepEqual(
      sql.statements.slice(before).filter((s) => /^(ALTER|BACKUP|RESTORE)/.test(s)),
      [],
    );
  });

  it('brings the database back WITH RECOVERY when no plan follows the tail-log backup', async (t) => {
    const { sql, repo, settings, state } = await ordersWithLog(t);
    // An LSN beyond the end of the log: only the tail-log backup can tell.
    const target = { kind: 'lsn', lsn: 99_000_000_000_000_000n } as const;
    await assert.rejects(
      restoreSqlServerSource(sql, repo, settings, { target, replace: true }),
      (e: unknown) =>
        e instanceof PlanError &&
        e.reason === 'TAIL_LOG_NEEDED' &&
        /hbr backup [0-9a-f]{8}; hbr ran RESTORE DATABASE \[Orders\] WITH RECOVERY: it is ONLINE again/.test(
          e.message,
        ),
    );
    assert.equal(await state(), 'ONLINE');
    assert.ok(sql.statements.includes('RESTORE DATABASE [Orders] WITH RECOVERY;'));
    assert.ok(sql.statements.includes('ALTER DATABASE [Orders] SET MULTI_USER;'));
    assert.ok((await repo.backups()).some((b) => b.tags.includes('tail-log')));
  });
});

describe('a dry run of an in-place restore to a time after the last log backup', () => {
  it('shows the tail-log backup as a planned step with STOPAT: the plan the real run then executes', async (t) => {
    const { sql, repo, settings, state } = await ordersWithLog(t);
    sql.write('Orders', 3); // after the last log backup: only the tail holds it
    const at = new Date(sql.now.getTime() + 30_000);
    sql.now = new Date(sql.now.getTime() + 60_000);
    const request = { target: { kind: 'time', at } as const, replace: true };
    const before = sql.statements.length;
    const dry = await restoreSqlServerSource(sql, repo, settings, { ...request, dryRun: true });
    assert.ok(sql.statements.slice(before).every((s) => s.startsWith('SELECT')));
    assert.equal(await state(), 'ONLINE');
    assert.deepEqual(
      dry.script.map((s) => s.kind),
      [
        'single-user',
        'tail-log',
        'restore',
        'restore',
        'restore',
        'recover',
        'check-online',
        'multi-user',
      ],
    );
    assert.equal(dry.plan.steps.at(-1)?.backupSetGuid, 'planned tail-log backup');
    assert.match(
      dry.script[4]!.sql,
      /^DECLARE @stopat .*\nRESTORE LOG \[Orders\] .* STOPAT = @stopat;$/s,
    );
    assert.match(dry.warnings.join('\n'), /tail-log backup the restore takes first/);

    const real = await restoreSqlServerSource(sql, repo, settings, request);
    const run = (r: typeof dry): string[] =>
      r.script
        .filter((s) => s.kind !== 'single-user' && s.kind !== 'tail-log')
        .map((s) => s.sql.replace(/(URL|DISK) = N'[^']*'/g, '$1 = …'));
    assert.deepEqual(run(dry), run(real));
    assert.ok(real.tailLogBackup);
  });
  it('takes but does not restore the tail when the target lies inside the recorded logs', async (t) => {
    const { sql, repo, settings } = await ordersWithLog(t);
    const [, log] = await repo.backups();
    sql.write('Orders', 3);
    const finish = (log!.meta.set as Record<string, string>).BackupFinishDate!;
    const at = new Date(new Date(finish).getTime() - 500);
    const dry = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'time', at },
      replace: true,
      dryRun: true,
    });
    assert.equal(dry.script.filter((s) => s.kind === 'tail-log').length, 1);
    // The log backup holding the target ends the plan; nothing is restored after its STOPAT.
    assert.equal(dry.plan.steps.length, 2);
    assert.equal(dry.script.filter((s) => s.kind === 'restore').length, 2);
  });
});

describe('an in-place restore to a backup id', () => {
  it('backs up the tail of the log first, keeps it in the repository and restores up to that backup', async (t) => {
    const { sql, repo, settings, state } = await ordersWithLog(t);
    const [full] = await repo.backups();
    sql.write('Orders', 5); // not in any backup yet
    const dry = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'latest' },
      backupId: full!.id,
      replace: true,
      dryRun: true,
    });
    const sqlText = dry.script.map((s) => s.sql);
    assert.equal(sqlText.filter((s) => s.startsWith('BACKUP LOG [Orders]')).length, 1);
    assert.equal(sqlText.filter((s) => s.startsWith('RESTORE LOG')).length, 0);

    const result = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'latest' },
      backupId: full!.id,
      replace: true,
    });
    assert.ok(result.tailLogBackup, 'the changes since the last log backup are kept');
    assert.ok(result.tailLogBackup.tags.includes('tail-log'));
    assert.deepEqual(sql.restored.get('Orders'), [full!.meta.set].map(guidOf));
    assert.equal(await state(), 'ONLINE');
  });
});

describe('a restore under another name of a database that gained a file after its full', () => {
  it('moves the new file too, on the log that added it, instead of colliding with the original', async (t) => {
    const { sql, repo, settings } = await ordersWithLog(t);
    sql.addFile('Orders', 'Orders_archive'); // ALTER DATABASE … ADD FILE after the full
    sql.write('Orders', 2);
    await backupSqlServerSource(sql, repo, settings, 'log');
    // The stand-in refuses a file that another database holds (Msg 1834), as SQL Server does.
    const result = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'latest' },
      as: 'Orders_copy',
    });
    const restores = result.script.filter((s) => s.kind === 'restore').map((s) => s.sql);
    assert.equal(restores.length, 3);
    assert.ok(!restores[0]!.includes('Orders_archive'), 'the full has no such file');
    assert.ok(!restores[1]!.includes('MOVE'), 'the first log added no file');
    assert.match(
      restores[2]!,
      /^RESTORE LOG \[Orders_copy\] .*, MOVE N'Orders_archive' TO N'\/var\/opt\/mssql\/data\/Orders_copy_archive\.ndf';$/,
    );
    assert.equal(sql.restored.get('Orders_copy')?.length, 3);
  });
});

describe('backups taken outside hbr, promotion and gaps', () => {
  let dir: { path: string; remove: () => Promise<void> };
  after(async () => dir?.remove());

  it("promotes a first log backup to a full; a DBA's log backup it sees continues the chain, one it cannot see makes the next log a differential", async () => {
    dir = await tempDir();
    const port = await freePort();
    const staging = { serverPath: '/var/opt/mssql/backup', localPath: dir.path + '/staging' };
    const sql = createStandInServer({ sas: SAS, disk: staging });
    sql.createDatabase('Ops');
    const settings = (source: string, importHistoryDays: number): SqlServerSourceSettings => ({
      source,
      database: 'Ops',
      importHistoryDays,
      transport: {
        kind: 'url',
        url: { publicUrl: `http://127.0.0.1:${port}`, signature: 'c2VjcmV0LXNpZw==', port },
      },
    });
    const withImport = await newRepo(dir.path + '/a');
    const without = await newRepo(dir.path + '/b');
    const first = await backupSqlServerSource(sql, withImport, settings('ops', 30), 'log');
    assert.equal(first.type, 'full');
    assert.match(first.warnings.join('\n'), /no log chain yet, so a full backup was taken/);
    // The same full in the second repository (its own copy).
    await backupSqlServerSource(sql, without, settings('ops', 0), 'full');
    sql.write('Ops', 5);
    await sql.manualBackup('Ops', 'log', '/var/opt/mssql/backup/dba-manual.trn');
    sql.write('Ops', 5);
    const log = await backupSqlServerSource(sql, withImport, settings('ops', 30), 'log');
    const blindLog = await backupSqlServerSource(sql, without, settings('ops', 0), 'log');
    assert.ok(log.foreign >= 1);
    // hbr restores through the DBA's file (msdb names it), so its log continues the chain.
    assert.equal(log.type, 'log');
    assert.equal(log.promotedBecause, null);
    // Blind to msdb, hbr's chain stops before the DBA's log: a log now could never be restored.
    assert.equal(blindLog.type, 'diff');
    assert.match(
      blindLog.promotedBecause ?? '',
      /^the log chain since the full backup at .* does not reach LSN \d+, where a log backup now would start: a log backup hbr has not seen holds log records before it.*, so a differential backup was taken instead of a log backup/,
    );
    // Recorded as read with is_snapshot and device_type: the catalog trusts them as bases.
    const recorded = log.record.meta.foreign as Record<string, unknown>[];
    assert.ok(recorded.every((row) => row.IsSnapshot === false));

    const seen = buildCatalog(await withImport.backups(), 'ops');
    const plan = planRestore(seen.records, { kind: 'latest' });
    const manual = plan.steps.find((s) => s.files.includes('/var/opt/mssql/backup/dba-manual.trn'));
    assert.ok(manual, "the DBA's log backup is a step of the plan");
    assert.equal(seen.entryOf(manual).backupId, null);

    const blind = buildCatalog(await without.backups(), 'ops');
    assert.deepEqual(
      planRestore(blind.records, { kind: 'latest' }).steps.map((s) => s.type),
      ['full', 'diff'],
    );

    // The restore reads the DBA's file where msdb says it is, and the rest from the repository.
    const result = await restoreSqlServerSource(sql, withImport, settings('ops', 30), {
      target: { kind: 'latest' },
      as: 'Ops_copy',
      dryRun: true,
    });
    assert.equal(result.foreignSteps, 1);
    assert.ok(
      result.script.some((s) => s.sql.includes("DISK = N'/var/opt/mssql/backup/dba-manual.trn'")),
    );
  });

  it("plans a restore with a DBA's log backup taken after hbr's last one, read from msdb at restore time", async (t) => {
    const { sql, repo, settings } = await diskStandIn(t, 'Late');
    await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('Late', 2);
    await backupSqlServerSource(sql, repo, settings, 'log');
    sql.write('Late', 2);
    await sql.manualBackup('Late', 'log', '/var/opt/mssql/backup/manual/Late_after.trn');
    const result = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'latest' },
      as: 'Late_copy',
      dryRun: true,
    });
    assert.equal(result.plan.steps.length, 3);
    assert.deepEqual(result.plan.steps.at(-1)?.files, [
      '/var/opt/mssql/backup/manual/Late_after.trn',
    ]);
    assert.match(
      result.script[2]!.sql,
      /^RESTORE LOG \[Late_copy\] FROM DISK = N'\/var\/opt\/mssql\/backup\/manual\/Late_after\.trn'/,
    );
  });

  it('writes no backup when SQL Server cannot write to the endpoint (a credential with another signature)', async () => {
    const sql = createStandInServer({ sas: 'sv=2022-11-02&sp=rwdl&sig=d3Jvbmc%3D' });
    sql.createDatabase('Ops2');
    const d = await tempDir();
    try {
      const repo = await newRepo(d.path);
      await assert.rejects(
        backupSqlServerSource(
          sql,
          repo,
          {
            source: 'o',
            database: 'Ops2',
            transport: { kind: 'url', url: { signature: 'c2VjcmV0LXNpZw==' } },
          },
          'full',
        ),
        (e: unknown) => (e as { statusCode?: number }).statusCode === 403,
      );
      assert.deepEqual(await repo.backups(), []);
    } finally {
      await d.remove();
    }
  });

  it('refuses a log backup of a SIMPLE-recovery database, naming the database', async () => {
    const sql = createStandInServer({ sas: SAS });
    sql.createDatabase('Scratch', 'SIMPLE');
    const d = await tempDir();
    try {
      await assert.rejects(
        backupSqlServerSource(
          sql,
          await newRepo(d.path),
          {
            source: 's',
            database: 'Scratch',
            transport: { kind: 'url', url: { signature: 'x' } },
          },
          'log',
        ),
        (e: unknown) =>
          e instanceof SourceError &&
          /Scratch: the SIMPLE recovery model has no log backups/.test(e.message),
      );
    } finally {
      await d.remove();
    }
  });
});

describe('STOPAT on a server before SQL Server 2022', () => {
  it('converts the target with the offset recorded with the log holding it, not the one after a DST change', async () => {
    const d = await tempDir();
    try {
      const repo = await newRepo(d.path);
      const sql = createStandInServer({ sas: SAS, productVersion: '15.0.4375.4' }); // 2019
      sql.utcOffsetMinutes = 60; // Berlin in winter
      sql.createDatabase('Pit');
      const settings: SqlServerSourceSettings = {
        source: 'pit',
        database: 'Pit',
        transport: { kind: 'url', url: { signature: 'c2VjcmV0LXNpZw==' } },
      };
      await backupSqlServerSource(sql, repo, settings, 'full');
      sql.write('Pit', 2);
      const at = new Date(sql.now.getTime() + 500); // inside the log backup taken now
      await backupSqlServerSource(sql, repo, settings, 'log');
      sql.utcOffsetMinutes = 120; // summer time when restoring
      const result = await restoreSqlServerSource(sql, repo, settings, {
        target: { kind: 'time', at },
        as: 'Pit_then',
        dryRun: true,
      });
      // The wall clock at the target read UTC+1.
      const wall = new Date(at.getTime() + 60 * 60_000).toISOString().slice(0, 23);
      const stop = result.script.find((s) => s.sql.includes('STOPAT'))!.sql;
      assert.ok(stop.endsWith(`STOPAT = N'${wall}';`), stop);
      assert.ok(!result.warnings.some((w) => /time zone is unknown/.test(w)));
    } finally {
      await d.remove();
    }
  });
});

describe('the disk transport', () => {
  it('backs up through the staging folder, restores from staged copies, and leaves the folder empty', async (t) => {
    const { sql, repo, settings, staging } = await diskStandIn(t, 'Ledger', { stripes: 2 });
    const full = await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('Ledger', 3);
    await backupSqlServerSource(sql, repo, settings, 'log');
    const artifacts = full.record.meta.artifacts as string[];
    assert.equal(artifacts.length, 2);
    assert.match(artifacts[0]!, /^Ledger_full_\d{8}T\d{6}Z_1of2\.bak$/);
    assert.match(artifacts[1]!, /^Ledger_full_\d{8}T\d{6}Z_2of2\.bak$/);
    assert.match(
      sql.statements.find((s) => s.startsWith('BACKUP DATABASE'))!,
      /TO DISK = N'\/var\/opt\/mssql\/backup\/hbr\/Ledger_full_\S+_1of2\.bak', DISK = N'\/var\/opt\/mssql\/backup\/hbr\/Ledger_full_\S+_2of2\.bak'/,
    );
    const result = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'latest' },
      as: 'Ledger_check',
    });
    assert.equal(sql.restored.get('Ledger_check')?.length, 2);
    assert.ok(result.checks?.ok);
    assert.deepEqual(await readdirDeep(staging.localPath), []);
  });
});

describe("a DBA's log backup to NUL", () => {
  it('is warned of by the first backup that sees the gap, not by every backup after it, and by every restore that fails on it', async (t) => {
    const { sql, repo, settings } = await diskStandIn(t, 'Emptied');
    const gap = /log backup of Emptied .* written to NUL and discarded: the log chain breaks/;
    await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('Emptied', 2);
    // The DBA empties the log: msdb keeps the set for importHistoryDays, its bytes are gone.
    await sql.manualBackup('Emptied', 'log', 'NUL');
    const nul = sql.lastBackupGuid().toLowerCase();
    sql.write('Emptied', 2);
    const first = await backupSqlServerSource(sql, repo, settings, 'log');
    assert.equal(first.warnings.filter((w) => gap.test(w)).length, 1, first.warnings.join('\n'));
    for (const type of ['log', 'full', 'log'] as const) {
      sql.write('Emptied', 2);
      const later = await backupSqlServerSource(sql, repo, settings, type);
      assert.deepEqual(
        later.warnings.filter((w) => gap.test(w) || w.includes(nul)),
        [],
        `a ${type} backup after the first says it again`,
      );
    }
    // A restore to a point inside it is told why it cannot get there.
    const nulSet = (
      first.record.meta.discarded as { BackupSetGUID: string; LastLSN: string }[]
    )[0]!;
    assert.equal(nulSet.BackupSetGUID.toLowerCase(), nul);
    const restore = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'lsn', lsn: BigInt(nulSet.LastLSN) - 1n },
      as: 'Emptied_copy',
      dryRun: true,
    }).catch((error: unknown) => error);
    assert.ok(restore instanceof PlanError, String(restore));
    assert.match(restore.message, gap);
  });
});

describe('a restore after a log backup to NUL', () => {
  it('is warned of it when its plan crosses it, not when it starts after it or stops before it', async (t) => {
    const { sql, repo, settings } = await diskStandIn(t, 'Crossed');
    const gap = /log backup of Crossed .* written to NUL and discarded: the log chain breaks/;
    /** A dry-run restore to latest (or to one backup): its plan's steps, and the NUL log's warnings. */
    const restore = async (request: { backupId?: string } = {}) => {
      const result = await restoreSqlServerSource(sql, repo, settings, {
        target: { kind: 'latest' },
        as: 'Crossed_copy',
        dryRun: true,
        ...request,
      });
      const warned = result.warnings.filter((w) => gap.test(w) || w.includes('NUL')).length;
      return [result.plan.steps.map((s) => s.type), warned];
    };
    const full = await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('Crossed', 2);
    await sql.manualBackup('Crossed', 'log', 'NUL');
    // The NUL log is the newest backup: a restore to latest ends at the full, and is told why.
    assert.deepEqual(await restore(), [['full'], 1]);
    for (const type of ['log', 'log'] as const) {
      sql.write('Crossed', 2);
      await backupSqlServerSource(sql, repo, settings, type);
    }
    // The differential hbr took instead of the first log bridges the gap; the chain since the
    // full breaks there, and the restore says so.
    assert.deepEqual(await restore(), [['full', 'diff', 'log'], 1]);
    // Up to the full: the NUL log comes after.
    assert.deepEqual(await restore({ backupId: full.record.id }), [['full'], 0]);
    // From a newer full: the NUL log lies before it.
    for (const type of ['full', 'log'] as const) {
      sql.write('Crossed', 2);
      await backupSqlServerSource(sql, repo, settings, type);
    }
    assert.deepEqual(await restore(), [['full', 'log'], 0]);
  });
});

describe('a backup hbr took whose commit failed', () => {
  it("is not planned as someone else's backup, the next backup warns of it once, and the gap is closed", async (t) => {
    const { sql, repo, settings } = await diskStandIn(t, 'Lost');
    await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('Lost', 2);
    // As if hbr's BACKUP LOG ran and the repository then failed: msdb has it, hbr does not.
    await sql.manualBackup('Lost', 'log', '/var/opt/mssql/backup/hbr/Lost_log_x.bak');
    const lost = sql.lastBackupGuid().toLowerCase();
    sql.write('Lost', 2);
    const warning =
      /msdb shows a log backup hbr took at .* that is not in the repository: the log chain has a gap/;
    const next = await backupSqlServerSource(sql, repo, settings, 'log');
    assert.equal(next.foreign, 0);
    assert.equal(next.warnings.filter((w) => warning.test(w)).length, 1, next.warnings.join('\n'));
    // Its log records are gone with it: a log now could not be restored past them.
    assert.equal(next.type, 'diff');
    assert.match(
      next.promotedBecause ?? '',
      new RegExp(
        `has a gap: the log backup .*${lost}.*, taken by hbr .* but not in the repository \\(its commit failed\\)`,
      ),
    );
    // Said once: msdb shows it for importHistoryDays, and the next backups stay quiet.
    for (const type of ['log', 'diff', 'log'] as const) {
      sql.write('Lost', 2);
      const later = await backupSqlServerSource(sql, repo, settings, type);
      assert.equal(later.type, type);
      assert.deepEqual(later.warnings, [], `a ${type} backup after the first says it again`);
    }
    const catalog = buildCatalog(await repo.backups(), 'lost');
    assert.deepEqual(
      planRestore(catalog.records, { kind: 'latest' }).steps.map((s) => s.type),
      ['full', 'diff', 'log'],
    );
    // The repository alone names it where the chain breaks.
    const lsn = (next.record.meta.lost as { LastLSN: string }[])[0]!.LastLSN;
    assert.throws(
      () =>
        planRestore(
          catalog.records,
          { kind: 'lsn', lsn: BigInt(lsn) - 1n },
          { unrestorable: catalog.unrestorable },
        ),
      (e: unknown) =>
        e instanceof PlanError &&
        e.reason === 'LSN_GAP' &&
        new RegExp(
          `the log backup continuing the chain is the log backup at .*${lost}\\), taken by hbr \\(/var/opt/mssql/backup/hbr/Lost_log_x\\.bak\\) but not in the repository \\(its commit failed\\)`,
        ).test(e.message),
    );
    // A restore to a point inside it still hears of it, every time.
    for (let i = 0; i < 2; i++) {
      const restore = await restoreSqlServerSource(sql, repo, settings, {
        target: { kind: 'lsn', lsn: BigInt(lsn) - 1n },
        as: 'Lost_copy',
        dryRun: true,
      }).catch((error: unknown) => error);
      assert.ok(restore instanceof PlanError && restore.reason === 'LSN_GAP', String(restore));
      assert.match(restore.message, warning);
    }
  });

  it('makes the next differential a full when it was a full: the differentials would be based on it', async (t) => {
    const { sql, repo, settings } = await diskStandIn(t, 'LostFull', { source: 'lost-full' });
    await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('LostFull', 2);
    await sql.manualBackup('LostFull', 'full', '/var/opt/mssql/backup/hbr/LostFull_full_x.bak');
    sql.write('LostFull', 2);
    const diff = await backupSqlServerSource(sql, repo, settings, 'diff');
    assert.equal(diff.type, 'full');
    assert.match(
      diff.promotedBecause ?? '',
      /^the base of a differential now is the full backup at .*, taken by hbr .* but not in the repository \(its commit failed\): a differential now could not be restored, so a full backup was taken instead$/,
    );
    sql.write('LostFull', 2);
    const after = await backupSqlServerSource(sql, repo, settings, 'diff');
    assert.equal(after.type, 'diff');
    assert.deepEqual(after.warnings, []);
  });
});

describe('a log backup asked for after a gap in the log chain', () => {
  it('is taken as a differential when a log backup to NUL follows the newest base, and the logs after it continue the chain', async (t) => {
    const { sql, repo, settings } = await diskStandIn(t, 'Pitr');
    const full = await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('Pitr', 2);
    const before = await backupSqlServerSource(sql, repo, settings, 'log');
    assert.equal(before.type, 'log');
    sql.write('Pitr', 2);
    await sql.manualBackup('Pitr', 'log', 'NUL');
    const nul = sql.lastBackupGuid().toLowerCase();
    sql.write('Pitr', 2);
    const promoted = await backupSqlServerSource(sql, repo, settings, 'log');
    assert.deepEqual([promoted.requestedType, promoted.type], ['log', 'diff']);
    assert.match(
      promoted.promotedBecause ?? '',
      new RegExp(
        `^the log chain since the full backup at .* \\(${guidOf(full.record.meta.set)}\\) has a gap: ` +
          `the log backup at \\S+ \\(LSN \\d+ → \\d+, ${nul}\\), written to the null device \\(NUL\\) and discarded: ` +
          'a log backup now could not be restored past it, so a differential backup was taken instead of a log backup; ' +
          'the next log backups continue the chain from it$',
      ),
    );
    assert.ok(promoted.warnings.includes(promoted.promotedBecause!));
    assert.equal(promoted.record.type, 'diff');
    assert.equal(promoted.record.meta.requestedType, 'log');
    assert.equal(promoted.record.meta.promotedBecause, promoted.promotedBecause);
    const logs: SqlServerBackupResult[] = [];
    for (let i = 0; i < 2; i++) {
      sql.write('Pitr', 2);
      logs.push(await backupSqlServerSource(sql, repo, settings, 'log'));
    }
    assert.deepEqual(
      logs.map((l) => [l.type, l.promotedBecause]),
      [
        ['log', null],
        ['log', null],
      ],
    );
    // Every point after the differential is restorable again, to the LSN.
    const last = logs[1]!.record.meta.set as { LastLSN: string };
    const restore = await restoreSqlServerSource(sql, repo, settings, {
      target: { kind: 'lsn', lsn: BigInt(last.LastLSN) - 1n },
      as: 'Pitr_copy',
      dryRun: true,
    });
    assert.deepEqual(
      restore.plan.steps.map((s) => s.type),
      ['full', 'diff', 'log', 'log'],
    );
  });

  it('is taken as a full when the differential would be based on a full written to NUL', async (t) => {
    const { sql, repo, settings } = await diskStandIn(t, 'NoBase');
    await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('NoBase', 2);
    // Both emptied: the full written to NUL is the differential base from now on.
    await sql.manualBackup('NoBase', 'full', 'NUL');
    await sql.manualBackup('NoBase', 'log', 'NUL');
    sql.write('NoBase', 2);
    const promoted = await backupSqlServerSource(sql, repo, settings, 'log');
    assert.equal(promoted.type, 'full');
    assert.match(
      promoted.promotedBecause ?? '',
      /so a full backup was taken instead of a log backup \(not a differential: the base of a differential now is the full backup at .*, written to the null device \(NUL\) and discarded\)/,
    );
    sql.write('NoBase', 2);
    const next = await backupSqlServerSource(sql, repo, settings, 'log');
    assert.deepEqual([next.type, next.promotedBecause], ['log', null]);
  });

  it('is taken as asked when the gap lies before the newest base, or a copy-only log was asked for', async (t) => {
    const { sql, repo, settings } = await diskStandIn(t, 'Bridged');
    await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('Bridged', 2);
    await sql.manualBackup('Bridged', 'log', 'NUL');
    sql.write('Bridged', 2);
    const copy = await backupSqlServerSource(
      sql,
      repo,
      { ...settings, backup: { copyOnly: true } },
      'log',
    );
    assert.deepEqual([copy.type, copy.promotedBecause], ['log', null]);
    await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('Bridged', 2);
    const log = await backupSqlServerSource(sql, repo, settings, 'log');
    assert.deepEqual([log.type, log.promotedBecause, log.warnings], ['log', null, []]);
  });

  it('is taken as asked with promote off, with a warning that it cannot be restored past the gap', async (t) => {
    const { sql, repo, settings } = await diskStandIn(t, 'Strict', { promote: false });
    await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('Strict', 2);
    await sql.manualBackup('Strict', 'log', 'NUL');
    for (let i = 0; i < 2; i++) {
      sql.write('Strict', 2);
      const log = await backupSqlServerSource(sql, repo, settings, 'log');
      assert.deepEqual([log.type, log.promotedBecause], ['log', null]);
      // Each of them is one more backup that cannot be restored: said every time.
      assert.match(
        log.warnings.join('\n'),
        /has a gap: .*written to the null device \(NUL\) and discarded: this log backup cannot be restored past it until a full or differential backup is taken/,
      );
    }
  });
});

async function readdirDeep(path: string): Promise<string[]> {
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

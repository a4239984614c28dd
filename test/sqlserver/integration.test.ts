/**
 * Against a real SQL Server, only where HBR_TEST_MSSQL_URL is set (the one allowed gate; no SQL
 * Server can run on the project's machines): full → diff → logs → point-in-time restore between two
 * logs under a new name → CHECKDB → row counts, plus the msdb import and STATS progress.
 *
 *   HBR_TEST_MSSQL_URL=mssql://sa:Secret@127.0.0.1:1433?trustServerCertificate=true \
 *   HBR_TEST_MSSQL_BACKUP_DIR=/var/opt/mssql/backup \
 *   node --import tsx --test test/sqlserver/integration.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import type { BackupSetRecord } from '../../src/drivers/sqlserver/backup-set.ts';
import { planRestore } from '../../src/drivers/sqlserver/chain.ts';
import { parseConnectionUrl } from '../../src/drivers/sqlserver/connection.ts';
import { parseIsoInstant } from '../../src/drivers/sqlserver/dates.ts';
import { deviceOf, type BackupDevice } from '../../src/drivers/sqlserver/device.ts';
import { connectSqlServer, type SqlExecutor } from '../../src/drivers/sqlserver/executor.ts';
import { msdbHistoryQuery, parseMsdbRows } from '../../src/drivers/sqlserver/msdb.ts';
import { computeMoves } from '../../src/drivers/sqlserver/move.ts';
import * as ops from '../../src/drivers/sqlserver/operations.ts';
import { clrStateQuery, parseClrState } from '../../src/drivers/sqlserver/post-restore.ts';
import { quoteName, quoteString } from '../../src/drivers/sqlserver/quote.ts';
import { buildRestoreScript } from '../../src/drivers/sqlserver/tsql-restore.ts';
import { hbr, summaryOf, type CliResult } from '../helpers/cli.ts';

const url = process.env.HBR_TEST_MSSQL_URL;

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on('data', (b: Buffer) => out.push(b));
  const stderr = new PassThrough().on('data', (b: Buffer) => err.push(b));
  const code = await main(argv, {
    stdout,
    stderr,
    env: {},
    cwd: process.cwd(),
    isTTY: false,
    signal: new AbortController().signal,
  });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

void describe(
  'SQL Server integration',
  { skip: url ? false : 'HBR_TEST_MSSQL_URL is not set' },
  () => {
    let exec: SqlExecutor;
    let info: ops.ServerInfo;
    let folder = '';
    // Brackets, a quote and a comma in the name exercise the quoting on a real server.
    const source = `hbr_it ${randomBytes(4).toString('hex')} [x], 'y'`;
    const copy = `${source} pit`;
    const items = { schema: 'dbo', name: 'Items' };
    const records: BackupSetRecord[] = [];
    let stopAt = new Date(0);
    let scratch = '';

    const sep = (): string => (folder.includes('\\') ? '\\' : '/');
    const device = (suffix: string): BackupDevice =>
      deviceOf(
        `${folder.replace(/[\\/]$/, '')}${sep()}${source.replace(/[^a-z0-9_]/gi, '_')}_${suffix}`,
      );
    const insert = (phase: string, n: number): Promise<unknown> =>
      exec.run(
        `INSERT INTO ${quoteName(source)}.dbo.Items (phase) SELECT TOP (${n}) ${quoteString(phase)} FROM sys.all_objects;`,
      );
    const backup = async (
      type: 'full' | 'diff' | 'log',
      suffix: string,
      onProgress?: (p: number) => void,
    ) => {
      const header = await ops.runBackup(
        exec,
        info,
        { database: source, type, devices: [device(suffix)] },
        { onProgress },
      );
      await ops.verifyBackup(exec, [device(suffix)], header);
      assert.equal(header.hasBackupChecksums, true, 'CHECKSUM is on by default');
      records.push(header.record);
    };

    before(async () => {
      exec = await connectSqlServer(parseConnectionUrl(url!));
      info = await ops.readServerInfo(exec);
      const [row] = await exec.query(
        "SELECT CONVERT(nvarchar(260), SERVERPROPERTY('InstanceDefaultBackupPath')) AS b;",
      );
      folder =
        process.env.HBR_TEST_MSSQL_BACKUP_DIR ??
        (typeof row?.b === 'string' && row.b ? row.b : info.dataPath);
      await exec.run(
        `CREATE DATABASE ${quoteName(source)}; ALTER DATABASE ${quoteName(source)} SET RECOVERY FULL;`,
      );
      await exec.run(
        `CREATE TABLE ${quoteName(source)}.dbo.Items (id int IDENTITY PRIMARY KEY, phase varchar(10) NOT NULL, at datetime2 NOT NULL DEFAULT SYSUTCDATETIME());`,
      );
    });

    after(async () => {
      for (const name of [copy, source]) {
        if (exec && (await ops.databaseExists(exec, name))) {
          await exec.run(
            `ALTER DATABASE ${quoteName(name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quoteName(name)};`,
          );
        }
      }
      await exec?.close();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    void it('backs up full, diff and logs with CHECKSUM, verified, with STATS progress', async () => {
      const progress: number[] = [];
      await insert('full', 100);
      await backup('full', 'full.bak', (p) => progress.push(p));
      assert.ok(progress.includes(100), `STATS progress reached 100 (saw ${progress.join(', ')})`);
      await insert('diff', 50);
      await backup('diff', 'diff.bak');
      await insert('log1', 25);
      await backup('log', 'log1.trn');
      await insert('before', 10);
      await sleep(1500);
      const [now] = await exec.query('SELECT CONVERT(varchar(27), SYSUTCDATETIME(), 126) AS t;');
      stopAt = parseIsoInstant(String(now?.t));
      await sleep(1500);
      await insert('after', 7);
      await backup('log', 'log2.trn');
      await insert('late', 3);
      await backup('log', 'log3.trn');
      assert.deepEqual(
        records.map((r) => r.type),
        ['full', 'diff', 'log', 'log', 'log'],
      );
    });

    void it('sees the same chain through the msdb history import', async () => {
      const rows = await exec.query(msdbHistoryQuery({ database: source }));
      const fromMsdb = parseMsdbRows(rows, info.serverName).records;
      const latest = (rs: readonly BackupSetRecord[]) =>
        planRestore(rs, { kind: 'latest' }).steps.map((s) => s.backupSetGuid);
      assert.deepEqual(latest(fromMsdb), latest(records));
      // The same through the CLI: `hbr sqlserver history` output planned by `hbr sqlserver plan`.
      const history = await cli('sqlserver', 'history', '--url', url!, '--database', source);
      assert.equal(history.code, 0, history.stderr);
      scratch = await mkdtemp(join(tmpdir(), 'hbr-mssql-'));
      const file = join(scratch, 'history.json');
      await writeFile(file, history.stdout);
      const planned = await cli(
        '--json',
        'sqlserver',
        'plan',
        '--history',
        file,
        '--database',
        source,
      );
      assert.equal(planned.code, 0, planned.stdout);
      const steps = (JSON.parse(planned.stdout) as { steps: { backupSetGuid: string }[] }).steps;
      assert.deepEqual(
        steps.map((s) => s.backupSetGuid),
        latest(records),
      );
    });

    void it('restores side by side to a moment between two logs, passes CHECKDB, and has the rows of that moment', async () => {
      // Between log1 and log2: full, diff, log1, log2 with STOPAT.
      const plan = planRestore(records, { kind: 'time', at: stopAt });
      assert.deepEqual(
        plan.steps.map((s) => s.type),
        ['full', 'diff', 'log', 'log'],
      );
      const full = plan.steps[0]!;
      const files = await ops.readFileList(exec, info, full.files.map(deviceOf), full.position);
      const moves = computeMoves(files, {
        sourceDatabase: source,
        targetDatabase: copy,
        dataDirectory: info.dataPath,
        logDirectory: info.logPath,
      });
      const script = buildRestoreScript(plan, {
        targetDatabase: copy,
        targetExists: await ops.databaseExists(exec, copy),
        moves,
        serverUtcOffsetMinutes: info.utcOffsetMinutes,
        serverTimeZone: info.timeZone,
      });
      await ops.runRestoreScript(exec, script);
      const check = await ops.checkDatabase(exec, copy);
      assert.equal(check.ok, true, JSON.stringify(check.errors));
      assert.equal(await ops.countRows(exec, copy, items), 185n); // 100 + 50 + 25 + 10
      assert.equal(await ops.countRows(exec, source, items), 195n);
    });

    void it('restores in place to latest after a tail-log backup, keeping rows written since the last log backup', async () => {
      await insert('tail', 2);
      const plan = planRestore(records, { kind: 'latest' });
      const script = buildRestoreScript(plan, {
        targetExists: true,
        replace: true,
        tailLogDevice: device('tail.trn'),
        serverUtcOffsetMinutes: info.utcOffsetMinutes,
      });
      await ops.runRestoreScript(exec, script);
      assert.equal(await ops.countRows(exec, source, items), 197n); // 195 + 2 only in the tail log
      const clr = parseClrState((await exec.run(clrStateQuery(source))).recordsets);
      assert.deepEqual(clr.problems, []);
    });
  },
);

/**
 * The same story through the CLI as an operator runs it, per transport: `hbr backup --source`
 * full → diff → logs, `hbr sqlserver plan --source`, `hbr restore --source --at … --as … --dry-run`,
 * the restore with its post-restore checks, and an in-place `--replace` restore after a tail-log
 * backup. The disk transport needs the staging folder on both sides:
 *   HBR_TEST_MSSQL_STAGING        folder as SQL Server sees it (default: HBR_TEST_MSSQL_BACKUP_DIR,
 *                                 else the server's default backup folder)
 *   HBR_TEST_MSSQL_STAGING_LOCAL  the same folder as this machine sees it (default: the same path)
 * The URL transport runs too when these are set (see the README: certificate, hosts entry, SAS
 * credential on the server):
 *   HBR_TEST_MSSQL_BLOB_URL       https://<name>.blob.core.windows.net (resolves to this machine)
 *   HBR_TEST_MSSQL_BLOB_SAS       file holding the SAS token of the server's CREDENTIAL
 *   HBR_TEST_MSSQL_BLOB_CERT / HBR_TEST_MSSQL_BLOB_KEY  PEM files; HBR_TEST_MSSQL_BLOB_PORT (443)
 */
void describe(
  'SQL Server source through the CLI',
  { skip: url ? false : 'HBR_TEST_MSSQL_URL is not set' },
  () => {
    const transports = ['disk', ...(process.env.HBR_TEST_MSSQL_BLOB_URL ? ['url'] : [])];
    for (const transport of transports) {
      void it(`backs up and restores through hbr backup/restore --source (${transport} transport)`, async () => {
        const exec = await connectSqlServer(parseConnectionUrl(url!));
        const dir = await mkdtemp(join(tmpdir(), 'hbr-mssql-cli-'));
        const db = `hbr_cli ${randomBytes(3).toString('hex')} [z], 'q'`;
        const copy = `${db} copy`;
        try {
          const info = await ops.readServerInfo(exec);
          const [row] = await exec.query(
            "SELECT CONVERT(nvarchar(260), SERVERPROPERTY('InstanceDefaultBackupPath')) AS b;",
          );
          const serverStaging =
            process.env.HBR_TEST_MSSQL_STAGING ??
            process.env.HBR_TEST_MSSQL_BACKUP_DIR ??
            (typeof row?.b === 'string' && row.b ? row.b : info.dataPath);
          const conn = parseConnectionUrl(url!);
          await writeFile(
            join(dir, 'sql.cred'),
            JSON.stringify({ user: conn.user, password: conn.password }),
          );
          const e = process.env;
          const transportYaml =
            transport === 'disk'
              ? [
                  '      transport: disk',
                  `      stagingPath: ${JSON.stringify(serverStaging)}`,
                  `      stagingLocalPath: ${JSON.stringify(e.HBR_TEST_MSSQL_STAGING_LOCAL ?? serverStaging)}`,
                ]
              : [
                  '      transport: url',
                  '      url:',
                  `        publicUrl: ${JSON.stringify(e.HBR_TEST_MSSQL_BLOB_URL)}`,
                  `        sasFile: ${JSON.stringify(e.HBR_TEST_MSSQL_BLOB_SAS)}`,
                  `        certFile: ${JSON.stringify(e.HBR_TEST_MSSQL_BLOB_CERT)}`,
                  `        keyFile: ${JSON.stringify(e.HBR_TEST_MSSQL_BLOB_KEY)}`,
                  `        listenPort: ${Number(e.HBR_TEST_MSSQL_BLOB_PORT ?? 443)}`,
                ];
          const config = join(dir, 'hbr.yaml');
          await writeFile(
            config,
            [
              'repository:',
              `  path: ${JSON.stringify(join(dir, 'repo'))}`,
              'sources:',
              '  - name: it',
              '    sqlserver:',
              `      server: ${JSON.stringify(conn.server)}`,
              ...(conn.port ? [`      port: ${conn.port}`] : []),
              `      database: ${JSON.stringify(db)}`,
              '      credentialFile: sql.cred',
              `      trustServerCertificate: ${String(conn.trustServerCertificate ?? false)}`,
              ...transportYaml,
              '      checks:',
              '        rowCounts: [{ table: dbo.Items, min: 1 }]',
              '        smokeQueries: [{ name: items readable, sql: "SELECT TOP (1) id FROM dbo.Items;" }]',
              '',
            ].join('\n'),
          );
          const run = async (...argv: string[]): Promise<CliResult> =>
            hbr(['--config', config, ...argv], { cwd: dir, env: { HBR_PASSWORD: 'it-pw' } });
          const ok = (r: CliResult): CliResult => {
            assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
            return r;
          };
          const insert = (phase: string, n: number): Promise<unknown> =>
            exec.run(
              `INSERT INTO ${quoteName(db)}.dbo.Items (phase) SELECT TOP (${n}) ${quoteString(phase)} FROM sys.all_objects;`,
            );
          await exec.run(
            `CREATE DATABASE ${quoteName(db)}; ALTER DATABASE ${quoteName(db)} SET RECOVERY FULL;`,
          );
          await exec.run(
            `CREATE TABLE ${quoteName(db)}.dbo.Items (id int IDENTITY PRIMARY KEY, phase varchar(10) NOT NULL);`,
          );
          ok(await run('init'));

          await insert('full', 100);
          const full = summaryOf(
            ok(await run('--json', 'backup', '--source', 'it', '--type', 'full')),
          );
          assert.equal(full.type, 'full');
          assert.equal(full.verified, true);
          await insert('diff', 50);
          ok(await run('backup', '--source', 'it', '--type', 'diff'));
          await insert('log1', 25);
          ok(await run('backup', '--source', 'it', '--type', 'log'));
          await insert('before', 10);
          await sleep(1500);
          const [now] = await exec.query(
            'SELECT CONVERT(varchar(27), SYSUTCDATETIME(), 126) AS t;',
          );
          const at = parseIsoInstant(String(now?.t)).toISOString();
          await sleep(1500);
          await insert('after', 7);
          ok(await run('backup', '--source', 'it', '--type', 'log'));

          const plan = JSON.parse(
            ok(await run('--json', 'sqlserver', 'plan', '--source', 'it', '--at', at)).stdout,
          ) as { steps: { type: string }[] };
          assert.deepEqual(
            plan.steps.map((s) => s.type),
            ['full', 'diff', 'log', 'log'],
          );
          const dry = ok(
            await run('restore', '--source', 'it', '--at', at, '--as', copy, '--dry-run'),
          );
          assert.match(dry.stdout, /STOPAT = N'/);
          assert.match(dry.stdout, /MOVE N'/);
          assert.equal(await ops.databaseExists(exec, copy), false, 'a dry run restores nothing');

          const restored = summaryOf(
            ok(await run('--json', 'restore', '--source', 'it', '--at', at, '--as', copy)),
          );
          const checks = restored.checks as {
            ok: boolean;
            checkdb: { ok: boolean };
            rowCounts: { rows: string }[];
          };
          assert.equal(checks.checkdb.ok, true);
          assert.equal(checks.rowCounts[0]?.rows, '185'); // 100 + 50 + 25 + 10
          assert.equal(checks.ok, true);

          await insert('tail', 2);
          const inPlace = summaryOf(
            ok(await run('--json', 'restore', '--source', 'it', '--replace')),
          );
          assert.notEqual(inPlace.tailLogBackup, null);
          assert.equal(await ops.countRows(exec, db, { schema: 'dbo', name: 'Items' }), 194n); // 192 + 2 in the tail
        } finally {
          for (const name of [copy, db]) {
            if (await ops.databaseExists(exec, name)) {
              await exec.run(
                `ALTER DATABASE ${quoteName(name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quoteName(name)};`,
              );
            }
          }
          await exec.close();
          await rm(dir, { recursive: true, force: true });
        }
      });
    }
  },
);

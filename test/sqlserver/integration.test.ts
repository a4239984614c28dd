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
      await ops.verifyBackup(exec, [device(suffix)], header.record.position);
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

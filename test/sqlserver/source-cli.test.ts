/**
 * The SQL Server source through the CLI where no server is needed: `hbr sqlserver plan --source`
 * plans from the repository's manifests, and the backup/restore commands fail precisely on bad
 * flags and incomplete config before connecting. (Backups here are taken through the driver with
 * the stand-in session; the CLI's connection path runs in integration.test.ts.)
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backupSqlServerSource } from '../../src/drivers/sqlserver/backup-source.ts';
import { initRepository, openRepository } from '../../src/repository/index.ts';
import { createLocalStore } from '../../src/stores/local.ts';
import { hbr } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { createStandInServer } from './stand-in-server.ts';

const SAS = 'sv=2022-11-02&sp=rwdl&sig=c2VjcmV0LXNpZw%3D%3D';

describe('hbr with a sqlserver source, no server needed', () => {
  let dir: { path: string; remove: () => Promise<void> };
  const finishes: Date[] = [];
  const guids: string[] = [];
  const env = (): NodeJS.ProcessEnv => ({ HBR_PASSWORD: 'pw' });

  before(async () => {
    dir = await tempDir();
    const repoPath = join(dir.path, 'repo');
    const repo = await initRepository(
      createLocalStore({ path: repoPath }),
      { kind: 'password', password: 'pw' },
      { scryptParams: { N: 1024, r: 8, p: 1 } },
    );
    await writeFile(join(dir.path, 'sql.cred'), 'backup_operator\nS3cret!\n');
    await writeFile(join(dir.path, 'sas'), `?${SAS}\n`);
    await writeFile(
      join(dir.path, 'hbr.yaml'),
      [
        'repository:',
        `  path: ${repoPath}`,
        'sources:',
        '  - name: core-sql',
        '    sqlserver:',
        '      server: 127.0.0.1',
        '      database: Hartonomous',
        '      credentialFile: sql.cred',
        '      transport: url',
        '      url: { publicUrl: "https://hbrbackup.blob.core.windows.net", sasFile: sas }',
        '  - name: gap-sql',
        '    sqlserver:',
        '      server: 127.0.0.1',
        '      database: Gappy',
        '      credentialFile: sql.cred',
        '      transport: url',
        '      url: { publicUrl: "https://hbrbackup.blob.core.windows.net", sasFile: sas }',
        '  - name: disk-sql',
        '    sqlserver: { server: 127.0.0.1, database: X, credentialFile: sql.cred, transport: disk }',
        '',
      ].join('\n'),
    );
    const sql = createStandInServer({ sas: SAS });
    sql.createDatabase('Hartonomous');
    for (const type of ['full', 'log', 'log'] as const) {
      await backupSqlServerSource(
        sql,
        repo,
        {
          source: 'core-sql',
          database: 'Hartonomous',
          transport: { kind: 'url', url: { signature: 'c2VjcmV0LXNpZw==' } },
        },
        type,
      );
      guids.push(sql.lastBackupGuid());
      finishes.push(new Date(sql.now.getTime() - 1000));
      sql.write('Hartonomous', 4);
      sql.now = new Date(sql.now.getTime() + 15 * 60_000);
    }
  });
  after(async () => dir.remove());

  // gap-sql: a full, a log, a DBA's log backup to NUL, then hbr's backups (the first a differential).
  let nul: { BackupSetGUID: string; FirstLSN: string; LastLSN: string; BackupFinishDate: string };
  before(async () => {
    const repo = await openRepository(createLocalStore({ path: join(dir.path, 'repo') }), {
      kind: 'password',
      password: 'pw',
    });
    const sql = createStandInServer({ sas: SAS });
    sql.createDatabase('Gappy');
    const settings = {
      source: 'gap-sql',
      database: 'Gappy',
      transport: { kind: 'url', url: { signature: 'c2VjcmV0LXNpZw==' } },
    } as const;
    await backupSqlServerSource(sql, repo, settings, 'full');
    sql.write('Gappy', 4);
    await backupSqlServerSource(sql, repo, settings, 'log');
    sql.write('Gappy', 4);
    await sql.manualBackup('Gappy', 'log', 'NUL');
    sql.write('Gappy', 4);
    const after = await backupSqlServerSource(sql, repo, settings, 'log');
    sql.write('Gappy', 4);
    await backupSqlServerSource(sql, repo, settings, 'log');
    nul = (after.record.meta.discarded as (typeof nul)[])[0]!;
  });

  it('plans from the repository with --source: a point in time between the two logs', async () => {
    const at = new Date(finishes[1]!.getTime() + 60_000).toISOString();
    const r = await hbr(['sqlserver', 'plan', '--source', 'core-sql', '--at', at, '--json'], {
      cwd: dir.path,
      env: env(),
    });
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as {
      steps: { type: string; backupSetGuid: string; lastLsn: string }[];
      stopAt: string;
    };
    assert.deepEqual(
      plan.steps.map((s) => [s.type, s.backupSetGuid]),
      [
        ['full', guids[0]],
        ['log', guids[1]],
        ['log', guids[2]],
      ],
    );
    assert.equal(plan.stopAt, at);
    assert.match(plan.steps[2]!.lastLsn, /^\d{17}$/);
  });

  it('names the log backup written to NUL where the chain breaks: its time, LSNs and the null device', async () => {
    // Inside the log records it held: no backup in the repository has them.
    const lsn = (BigInt(nul.LastLSN) - 1n).toString();
    const r = await hbr(['sqlserver', 'plan', '--source', 'gap-sql', '--lsn', lsn, '--json'], {
      cwd: dir.path,
      env: env(),
    });
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stderr) as { error: { reason: string; message: string } };
    assert.equal(out.error.reason, 'LSN_GAP');
    const finish = new Date(nul.BackupFinishDate).toISOString();
    assert.ok(
      out.error.message.includes(
        `the log backup continuing the chain is the log backup at ${finish} (LSN ${nul.FirstLSN} → ${nul.LastLSN}, ${nul.BackupSetGUID.toLowerCase()}), written to the null device (NUL) and discarded`,
      ),
      out.error.message,
    );
  });

  it('warns of the log backup written to NUL that a plan from the repository crosses, and only then', async () => {
    const plan = async (...target: string[]) => {
      const r = await hbr(['sqlserver', 'plan', '--source', 'gap-sql', ...target, '--json'], {
        cwd: dir.path,
        env: env(),
      });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { steps: { type: string }[]; warnings: string[] };
    };
    const guid = nul.BackupSetGUID.toLowerCase();
    // The differential bridges it: the chain since the full the plan starts from breaks there.
    const latest = await plan();
    assert.deepEqual(
      latest.steps.map((s) => s.type),
      ['full', 'diff', 'log'],
    );
    assert.equal(
      latest.warnings.filter((w) => w.includes(guid)).length,
      1,
      latest.warnings.join('\n'),
    );
    assert.match(
      latest.warnings.join('\n'),
      /written to NUL and discarded: the log chain breaks there/,
    );
    // Up to the log before it: the plan stops before the NUL log, and is not told of it.
    const before = await plan('--lsn', (BigInt(nul.FirstLSN) - 1n).toString());
    assert.deepEqual(
      before.steps.map((s) => s.type),
      ['full', 'log'],
    );
    assert.deepEqual(before.warnings, []);
  });

  it('says no full precedes a time before the first backup, with a code and a non-zero exit', async () => {
    const r = await hbr(
      ['sqlserver', 'plan', '--source', 'core-sql', '--at', '2020-01-01T00:00:00Z', '--json'],
      { cwd: dir.path, env: env() },
    );
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stderr) as { error: { code: string; reason: string } };
    assert.equal(out.error.reason, 'NO_FULL_BEFORE_TARGET');
  });

  it('rejects an unknown backup type, and a disk source without stagingPath, before connecting', async () => {
    const type = await hbr(['backup', '--source', 'core-sql', '--type', 'weekly'], {
      cwd: dir.path,
      env: env(),
    });
    assert.equal(type.code, 2, type.stderr);
    assert.match(type.stderr, /--type takes full, diff or log, not "weekly"/);
    const disk = await hbr(['backup', '--source', 'disk-sql'], { cwd: dir.path, env: env() });
    assert.notEqual(disk.code, 0);
    assert.match(
      disk.stderr,
      /sources\.disk-sql\.sqlserver\.stagingPath: transport: disk needs stagingPath/,
    );
  });

  it('restore without a source still needs a backup id and --target (the files path is unchanged)', async () => {
    const none = await hbr(['restore'], { cwd: dir.path, env: env() });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give a backup id/);
    const noTarget = await hbr(['restore', 'latest'], { cwd: dir.path, env: env() });
    assert.equal(noTarget.code, 2);
    assert.match(noTarget.stderr, /give --target DIR/);
  });
  it('restore --source goes to the database driver, and refuses --path, a files flag', async () => {
    // Nothing listens on the source's port: the restore gets as far as connecting.
    const restore = await hbr(['restore', '--source', 'core-sql', 'latest', '--dry-run'], {
      cwd: dir.path,
      env: env(),
    });
    assert.notEqual(restore.code, 0);
    assert.doesNotMatch(restore.stderr, /--path/);
    const path = await hbr(['restore', '--source', 'core-sql', 'latest', '--path', 'x'], {
      cwd: dir.path,
      env: env(),
    });
    assert.equal(path.code, 2);
    assert.match(path.stderr, /--path is for files backups; core-sql is a database source/);
  });
});

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { BackupSetRecord } from '../../src/drivers/sqlserver/backup-set.ts';
import { buildCatalog } from '../../src/drivers/sqlserver/catalog.ts';
import { planRestore } from '../../src/drivers/sqlserver/chain.ts';
import { recordToJson } from '../../src/drivers/sqlserver/plan-json.ts';
import { openRepository, startSession } from '../../src/repository/index.ts';
import { createLocalStore } from '../../src/stores/local.ts';
import { hbr, summaryOf } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { rec } from '../sqlserver/build.ts';

describe('hbr forget keeps what later backups need', () => {
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => (dir = await tempDir()));
  after(async () => dir.remove());

  /** A repository of its own under `name`, and a runner of hbr on it. */
  const repository = async (name: string) => {
    const env = { HBR_REPOSITORY: join(dir.path, name), HBR_PASSWORD: 'pw' };
    const run = (...args: string[]) => hbr(args, { env, cwd: dir.path });
    assert.equal((await run('init')).code, 0);
    const open = () =>
      openRepository(createLocalStore({ path: join(dir.path, name) }), {
        kind: 'password',
        password: 'pw',
      });
    return { run, open };
  };

  it('refuses to remove the newest log of a SQL Server chain unless forced', async () => {
    const { run, open } = await repository('repo-head');
    const repo = await open();
    // As hbr commits a SQL Server backup of the database Sales.
    const commit = async (set: BackupSetRecord) => {
      const session = await startSession(repo);
      await session.addArtifact('stripe1.bak', Readable.from([Buffer.from(set.backupSetGuid)]));
      return session.commit({
        source: 'core-sql',
        kind: 'sqlserver',
        type: set.type,
        startedAt: set.start,
        paths: ['Sales'],
        meta: { sqlserver: 1, set: recordToJson(set), artifacts: ['stripe1.bak'], foreign: [] },
      });
    };
    const sets = [rec('full', 100n, 200n, 0), rec('log', 100n, 300n, 15)];
    sets.push(rec('log', 300n, 400n, 30), rec('log', 400n, 500n, 45));
    const committed = [];
    for (const set of sets) committed.push(await commit(set));
    const middle = committed[2];
    assert.ok(middle);
    // A log the newest one needs is refused, as before; the newest log now too.
    const inside = await run('forget', middle.id);
    assert.equal(inside.code, 2);
    assert.match(inside.stderr, new RegExp(`refusing to remove ${middle.shortId} \\(needed by`));
    const refused = await run('forget', 'latest', '--source', 'core-sql');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /newest backup of core-sql: the next log backups continue/);
    assert.match(refused.stderr, /--force/);
    assert.equal((await (await open()).backups()).length, 4);
    const forced = await run('forget', 'latest', '--source', 'core-sql', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /cannot be restored until the next full or differential/);
    // What --force warned of: the log chain goes on from LSN 500, which nothing holds now.
    await commit(rec('log', 500n, 600n, 60));
    const catalog = buildCatalog(await (await open()).backups(), 'core-sql');
    assert.throws(() => planRestore(catalog.records, { kind: 'latest' }), /LSN_GAP|gap/);
  });

  it('reports what forget removed when the prune after it fails', async () => {
    const { run, open } = await repository('repo-prune');
    await mkdir(join(dir.path, 'tree'));
    const ids: string[] = [];
    for (const v of ['1', '2', '3']) {
      await writeFile(join(dir.path, 'tree', 'f'), v);
      ids.push(String(summaryOf(await run('backup', 'tree', '--json')).backupId));
    }
    const running = await startSession(await open()); // a backup in progress: prune must wait
    try {
      const forget = await run('forget', '--keep-last', '1', '--prune', '--json');
      assert.equal(forget.code, 11);
      const result = JSON.parse(forget.stdout) as { remove: string[] };
      assert.deepEqual([...result.remove].sort(), ids.slice(0, 2).sort());
      assert.match(forget.stderr, /forget removed 2 backup\(s\); only the prune after it failed/);
      assert.match(forget.stderr, /locked/);
      const text = await run('forget', ids[2]!, '--prune');
      assert.equal(text.code, 11);
      assert.match(text.stdout, /removed 1 backup/);
    } finally {
      await running.abort();
    }
  });

  it("weighs a configured files source's backups per host", async () => {
    await mkdir(join(dir.path, 'etc'));
    await writeFile(join(dir.path, 'etc', 'hosts'), '127.0.0.1 localhost');
    await writeFile(
      join(dir.path, 'hosts.yaml'),
      [
        'repository: { path: repo-hosts }',
        'sources:',
        '  - { name: etc, files: { paths: [etc] }, retention: { keepLast: 2 } }',
        '',
      ].join('\n'),
    );
    const run = (host: string, ...args: string[]) =>
      hbr(['--config', 'hosts.yaml', ...args], {
        env: { HBR_PASSWORD: 'pw', HBR_HOST: host },
        cwd: dir.path,
      });
    assert.equal((await run('web1', 'init')).code, 0);
    const ids: string[] = [];
    for (const host of ['web2', 'web1', 'web1']) {
      const backup = await run(host, 'backup', '--source', 'etc', '--json');
      assert.equal(backup.code, 0, backup.stderr);
      ids.push(String(summaryOf(backup).backupId));
    }
    const forget = await run('web1', 'forget', '--json');
    assert.equal(forget.code, 0, forget.stderr);
    const plan = JSON.parse(forget.stdout) as { remove: string[]; keep: { id: string }[] };
    assert.deepEqual(plan.remove, [], "web2's only backup is the newest of its own host");
    assert.equal(plan.keep.length, 3);
  });
});

import assert from 'node:assert/strict';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { createLocalStore } from '../../src/stores/local.ts';
import { openRepository, startSession } from '../../src/repository/index.ts';
import { sealObject } from '../../src/repository/crypto.ts';
import { acquireLock, listLocks } from '../../src/repository/locks.ts';
import { hbr, hbrProcess, summaryOf } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';
import { rec } from '../sqlserver/build.ts';
import { buildCatalog } from '../../src/drivers/sqlserver/catalog.ts';
import { planRestore } from '../../src/drivers/sqlserver/chain.ts';
import { recordToJson } from '../../src/drivers/sqlserver/plan-json.ts';
import { pseudoRandomBytes } from '../helpers/temp.ts';

describe('hbr locks, forget and prune', () => {
  const cli = cliRepository({ init: ['--pack-size', '1'] });
  const { run, open } = cli;

  before(async () => {
    await mkdir(join(cli.path, 'src'));
  });

  it('lets backups run side by side but keeps prune out while one runs', async () => {
    const repo = await open();
    const running = await startSession(repo);
    await running.addArtifact('x.bin', Readable.from([pseudoRandomBytes(100_000, 1)]));
    await writeFile(join(cli.path, 'src', 'a.txt'), 'a');
    const concurrent = await run('backup', 'src');
    assert.equal(concurrent.code, 0, concurrent.stderr);
    const prune = await run('prune');
    assert.equal(prune.code, 11);
    assert.match(prune.stderr, /locked: a shared lock for backup is held by pid \d+/);
    await running.commit({ source: 'side', kind: 'test', type: 'full', startedAt: new Date() });
    assert.equal((await run('prune')).code, 0);
    assert.equal((await run('check', '--read-data')).code, 0);
  });

  it('keeps prune and unlock off a live backup whose clock runs 40 minutes slow', async (t) => {
    const repo = await open();
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() - 40 * 60_000 });
    const running = await startSession(repo);
    t.after(() => running.abort()); // a no-op once committed
    await running.addArtifact('slow.bin', Readable.from([pseudoRandomBytes(3_000_000, 40)]));
    await running.flush(); // its packs are stored; no manifest names them until the commit
    // prune and unlock in processes of their own, by the right time.
    const child = (...args: string[]) => hbrProcess(args, { env: cli.env, cwd: cli.path }).done;
    const prune = await child('prune');
    assert.equal(prune.code, 11, prune.stdout);
    assert.match(prune.stderr, /locked: a shared lock for backup is held by pid \d+/);
    const unlock = await child('unlock', '--json');
    assert.deepEqual(JSON.parse(unlock.stdout), { removed: [] });
    await running.commit({ source: 'slow', kind: 'test', type: 'full', startedAt: new Date() });
    const check = await child('check', '--read-data');
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });

  it('treats a dead process as stale: unlock removes its lock and prune can run', async () => {
    const repo = await open();
    const lock = await acquireLock(repo.store, repo.keys, { exclusive: true, operation: 'prune' });
    const clock = { now: () => Date.now(), isAlive: () => true };
    assert.equal((await listLocks(repo.store, repo.keys, clock)).filter((l) => !l.stale).length, 1);
    assert.equal((await run('backup', 'src')).code, 11, 'a live exclusive lock blocks backups');
    // The same lock, last written an hour ago by the store's clock: stale even if its process
    // still looked alive.
    const [held] = await listLocks(repo.store, repo.keys, clock);
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(cli.path, 'repo', ...(held?.key ?? '').split('/')), hourAgo, hourAgo);
    assert.equal((await listLocks(repo.store, repo.keys, clock)).filter((l) => l.stale).length, 1);
    const dead = { now: () => Date.now(), isAlive: () => false };
    assert.equal((await listLocks(repo.store, repo.keys, dead)).filter((l) => l.stale).length, 1);
    void lock; // never released: as if its process had died
    const unlock = await run('unlock', '--remove-all', '--json');
    assert.equal((JSON.parse(unlock.stdout) as { removed: unknown[] }).removed.length, 1);
    assert.equal((await run('backup', 'src')).code, 0);
  });

  it('restores and checks under a shared lock: refused while prune runs, none left after', async () => {
    await writeFile(join(cli.path, 'src', 'read.txt'), 'read me');
    assert.equal((await run('backup', 'src')).code, 0);
    const repo = await open();
    const prune = await acquireLock(repo.store, repo.keys, { exclusive: true, operation: 'prune' });
    try {
      const restore = await run('restore', 'latest', '--target', 'during-prune');
      assert.equal(restore.code, 11, restore.stderr);
      assert.match(restore.stderr, /locked: an exclusive lock for prune/);
      assert.equal((await run('check')).code, 11);
    } finally {
      await prune.release();
    }
    // Once prune is gone, they run, and leave no lock behind.
    assert.equal((await run('restore', 'latest', '--target', 'after-prune')).code, 0);
    assert.equal((await run('check')).code, 0);
    assert.deepEqual(await listLocks(repo.store, repo.keys), [], 'released at the end');
  });

  it('judges a lock by its pid only in its own process namespace, and an unreadable one exclusive until stale', async () => {
    const repo = await open();
    // A lock of this host but another process namespace (a container beside this one): its pid
    // means nothing here, however dead it looks.
    const info = {
      exclusive: false,
      host: hostname(),
      pid: 999_999,
      time: new Date().toISOString(),
      operation: 'backup',
      pidns: 'pid:[1]',
    };
    await repo.store.put(
      'locks/other-namespace',
      sealObject(repo.keys, 'lock', Buffer.from(JSON.stringify(info))),
    );
    const dead = { now: () => Date.now(), isAlive: () => false };
    const other = (await listLocks(repo.store, repo.keys, dead)).find(
      (l) => l.key === 'locks/other-namespace',
    );
    assert.equal(other?.stale, false);
    assert.equal((await run('prune')).code, 11, 'prune waits for it');
    await repo.store.delete('locks/other-namespace');
    // One that cannot be read (damaged, another repository's, a failed read) may be a live
    // prune's: it keeps prune and backups out alike while fresh by the store's clock.
    await repo.store.put('locks/torn', Buffer.from('not a lock'));
    const prune = await run('prune');
    assert.equal(prune.code, 11);
    assert.match(prune.stderr, /locks\/torn cannot be read.*exclusive.*unlock --remove-all/);
    await writeFile(join(cli.path, 'src', 'torn.txt'), 'still backed up');
    const backup = await run('backup', 'src');
    assert.equal(backup.code, 11, backup.stderr);
    assert.match(backup.stderr, /locks\/torn cannot be read/);
    assert.equal(
      (JSON.parse((await run('unlock', '--json')).stdout) as { removed: unknown[] }).removed.length,
      0,
      'not stale yet',
    );
    // Not rewritten for an hour: no live holder's lock, whatever it was. unlock removes it.
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(cli.path, 'repo', 'locks', 'torn'), hourAgo, hourAgo);
    assert.equal((await run('backup', 'src')).code, 0);
    const unlock = JSON.parse((await run('unlock', '--json')).stdout) as {
      removed: { key: string }[];
    };
    assert.deepEqual(
      unlock.removed.map((l) => l.key),
      ['locks/torn'],
    );
    assert.equal((await run('prune')).code, 0);
  });

  it('forgets by keep rules per source and prune frees the space while keeping what is kept', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      await writeFile(
        join(cli.path, 'src', 'big.bin'),
        pseudoRandomBytes(2 * 1024 * 1024, 100 + i),
      );
      ids.push(String(summaryOf(await run('backup', 'src', '--json')).backupId));
    }
    const dry = await run('forget', '--keep-last', '2', '--source', 'files', '--dry-run', '--json');
    const plan = JSON.parse(dry.stdout) as {
      remove: string[];
      keep: { id: string; reasons: string[] }[];
    };
    assert.equal(plan.keep.length, 2);
    assert.deepEqual(plan.keep.map((k) => k.id).sort(), ids.slice(2).sort());
    assert.equal((await run('forget', '--keep-last', '2', '--source', 'files')).code, 0);
    const before = JSON.parse(
      (await run('check', '--json')).stdout.trim().split('\n').at(-1) ?? '{}',
    ) as { stats: { packs: number } };
    const pruned = JSON.parse((await run('prune', '--json')).stdout) as {
      bytesFreed: number;
      packsDeleted: number;
    };
    assert.ok(pruned.bytesFreed > 3 * 1024 * 1024, `freed ${pruned.bytesFreed}`);
    const afterCheck = await run('check', '--read-data', '--json');
    assert.equal(afterCheck.code, 0);
    const after = summaryOf(afterCheck) as { stats: { packs: number } };
    assert.ok(after.stats.packs < before.stats.packs);
    for (const id of ids.slice(2)) {
      const restored = await run('restore', id, '--target', join('out', id));
      assert.equal(restored.code, 0, restored.stderr);
    }
    assert.equal((await run('forget')).code, 2, 'forget without ids or rules removes nothing');
  });

  it('weighs backups of different paths apart, and refuses rules that keep nothing', async () => {
    // A repository of its own: backups of two folders, one after the other.
    const env2 = { HBR_REPOSITORY: join(cli.path, 'repo-groups'), HBR_PASSWORD: 'pw' };
    const run2 = (...args: string[]) => hbr(args, { env: env2, cwd: cli.path });
    assert.equal((await run2('init')).code, 0);
    const ids: string[] = [];
    for (const folder of ['alpha', 'beta']) {
      await mkdir(join(cli.path, folder), { recursive: true });
      await writeFile(join(cli.path, folder, 'f.txt'), folder);
      ids.push(String(summaryOf(await run2('backup', folder, '--json')).backupId));
    }
    // The only backup of each folder is the newest of its own: both are kept.
    const forget = await run2('forget', '--keep-last', '1', '--json');
    assert.equal(forget.code, 0, forget.stderr);
    const plan = JSON.parse(forget.stdout) as { remove: string[]; keep: { id: string }[] };
    assert.deepEqual(plan.remove, []);
    assert.deepEqual(plan.keep.map((k) => k.id).sort(), [...ids].sort());
    // Rules of zero keep nothing: as no rules at all, refused.
    const zero = await run2('forget', '--keep-daily', '0', '--keep-last', '0');
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--keep rules/);
    assert.equal((JSON.parse((await run2('backups', '--json')).stdout) as unknown[]).length, 2);
  });

  it('keeps what a kept SQL Server backup needs: its full and the logs before it', async () => {
    const env3 = { HBR_REPOSITORY: join(cli.path, 'repo-chain'), HBR_PASSWORD: 'pw' };
    const run3 = (...args: string[]) => hbr(args, { env: env3, cwd: cli.path });
    assert.equal((await run3('init')).code, 0);
    const repo = await openRepository(createLocalStore({ path: join(cli.path, 'repo-chain') }), {
      kind: 'password',
      password: 'pw',
    });
    // A full, then a log every 6 hours for 10 days: daily rules keep logs only.
    const sets = [rec('full', 100n, 200n, 0)];
    for (let i = 1, lsn = 200n; i <= 40; i++, lsn += 100n)
      sets.push(rec('log', lsn, lsn + 100n, i * 360));
    for (const set of sets) {
      const session = await startSession(repo);
      await session.addArtifact('stripe1.bak', Readable.from([Buffer.from(set.backupSetGuid)]));
      await session.commit({
        source: 'core-sql',
        kind: 'sqlserver',
        type: set.type === 'full' ? 'full' : 'log',
        startedAt: set.start,
        meta: { sqlserver: 1, set: recordToJson(set), artifacts: ['stripe1.bak'] },
      });
    }
    const forget = await run3('forget', '--keep-daily', '7', '--json');
    assert.equal(forget.code, 0, forget.stderr);
    const plan = JSON.parse(forget.stdout) as {
      remove: string[];
      keep: { id: string; reasons: string[] }[];
    };
    const backups = await (
      await openRepository(repo.store, { kind: 'password', password: 'pw' })
    ).backups();
    const kept = backups.filter((b) => !plan.remove.includes(b.id));
    // The full and every log up to the newest stay: nothing older than a kept log can go.
    assert.equal(kept.length, backups.length);
    const full = kept.find((b) => b.type === 'full');
    assert.ok(full);
    assert.match(plan.keep.find((k) => k.id === full.id)?.reasons.join() ?? '', /needed by/);
    const latest = buildCatalog(kept, 'core-sql');
    assert.deepEqual(
      planRestore(latest.records, { kind: 'latest' })
        .steps.map((s) => s.type)
        .slice(0, 2),
      ['full', 'log'],
    );
    // Named, the full is refused while logs need it; the newest log, which the log backups to
    // come will need, only with --force.
    const refused = await run3('forget', full.id);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing to remove .*needed by/);
    const newest = kept.at(-1);
    assert.ok(newest);
    // With --source naming another source, the full is not removed either, and `latest` means
    // that source's newest backup, not the repository's.
    const other = await startSession(repo);
    await other.addArtifact('x.bin', Readable.from([Buffer.from('other')]));
    const otherId = await other.commit({
      source: 'other-src',
      kind: 'test',
      type: 'full',
      startedAt: new Date(),
    });
    const elsewhere = await run3('forget', full.id, '--source', 'other-src');
    assert.equal(elsewhere.code, 1, elsewhere.stderr);
    assert.match(elsewhere.stderr, /no backup/);
    const latestOf = await run3(
      'forget',
      ...['latest', '--source', 'core-sql', '--force', '--dry-run', '--json'],
    );
    assert.equal(latestOf.code, 0, latestOf.stderr);
    assert.deepEqual((JSON.parse(latestOf.stdout) as { remove: string[] }).remove, [newest.id]);
    const twice = await run3(
      'forget',
      ...['latest', 'latest', '--source', 'core-sql', '--force', '--dry-run'],
    );
    assert.match(twice.stdout, /would remove 1 backup/);
    assert.equal((await run3('forget', otherId.id)).code, 0);
    assert.equal((await run3('forget', newest.id)).code, 2);
    assert.equal((await run3('forget', newest.id, '--force')).code, 0);
    const left = await (
      await openRepository(repo.store, { kind: 'password', password: 'pw' })
    ).backups();
    assert.equal(left.length, backups.length - 1);
    assert.ok(left.some((b) => b.id === full.id));
  });

  it('applies the retention of each source in the config when forget is given no rules, and never for rules of 0', async () => {
    await mkdir(join(cli.path, 'kept-a'));
    await mkdir(join(cli.path, 'kept-b'));
    await writeFile(
      join(cli.path, 'retention.yaml'),
      [
        'repository: { path: repo-retention }',
        'sources:',
        '  - { name: a, files: { paths: [kept-a] }, retention: { keepLast: 1 } }',
        '  - { name: b, files: { paths: [kept-b] } }',
        '',
      ].join('\n'),
    );
    const runR = (...args: string[]) =>
      hbr(['--config', 'retention.yaml', ...args], { env: { HBR_PASSWORD: 'pw' }, cwd: cli.path });
    assert.equal((await runR('init')).code, 0);
    const ids: Record<string, string[]> = { a: [], b: [] };
    for (const round of [1, 2])
      for (const source of ['a', 'b']) {
        await writeFile(join(cli.path, `kept-${source}`, 'f.txt'), `${source} ${round}`);
        const backup = await runR('backup', '--source', source, '--json');
        assert.equal(backup.code, 0, backup.stderr);
        ids[source]?.push(String(summaryOf(backup).backupId));
      }
    // Rules given that keep nothing are refused, never replaced by the config's retention.
    const zero = await runR('forget', '--keep-last', '0');
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--keep rules that all keep nothing/);
    assert.equal((JSON.parse((await runR('backups', '--json')).stdout) as unknown[]).length, 4);
    const forget = await runR('forget', '--json');
    assert.equal(forget.code, 0, forget.stderr);
    const plan = JSON.parse(forget.stdout) as {
      remove: string[];
      keep: { id: string; reasons: string[] }[];
    };
    assert.deepEqual(plan.remove, [ids.a?.[0]], 'the older backup of a goes; b has no retention');
    for (const id of ids.b ?? [])
      assert.deepEqual(plan.keep.find((k) => k.id === id)?.reasons, ['no retention']);
  });

  it('runs the demo end to end', async () => {
    const demo = await run('demo', '--dir', join(cli.path, 'demo'));
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stdout, /compared all \d+ restored files with the source: identical/);
    assert.match(demo.stdout, /backup 2: .* unchanged files/);
    // A folder of anything else is never replaced; an earlier demo's workspace is.
    const kept = await run('demo', '--dir', join(cli.path, 'demo'), '--keep');
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal((await run('demo', '--dir', join(cli.path, 'demo'))).code, 0);
    await mkdir(join(cli.path, 'precious'));
    await writeFile(join(cli.path, 'precious', 'thesis.txt'), 'irreplaceable');
    const refused = await run('demo', '--dir', 'precious');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /holds files and no earlier demo's/);
    assert.equal(await readFile(join(cli.path, 'precious', 'thesis.txt'), 'utf8'), 'irreplaceable');
  });
});

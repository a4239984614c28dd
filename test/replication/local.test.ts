import assert from 'node:assert/strict';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hbrProcess, summaryOf } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import {
  assertSameTree,
  backupIds,
  expectCode,
  PASSWORD,
  replicateSummary,
  writeTree,
} from './helpers.ts';

/** Repository objects under a local repository folder (locks left out). */
async function objects(root: string, prefix: string): Promise<string[]> {
  const entries = await readdir(join(root, prefix), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name))
    .map((e) => `${prefix}/${join(e.parentPath, e.name).slice(join(root, prefix).length + 1)}`)
    .sort();
}

describe('hbr replicate between local repositories', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let env: NodeJS.ProcessEnv;
  let opts: { env: NodeJS.ProcessEnv; cwd: string };
  const path = (...parts: string[]): string => join(dir.path, ...parts);
  const run = (args: string[], code = 0) => expectCode(args, opts, code);
  /** Only the replica's location and the password: what is left after a site disaster. */
  const onReplica = (location: string, args: string[], code = 0) =>
    expectCode(
      ['--repo', location, ...args],
      { env: { HBR_PASSWORD: PASSWORD }, cwd: dir.path },
      code,
    );

  before(async () => {
    dir = await tempDir('hbr-replication-');
    await writeFile(path('password'), `${PASSWORD}\n`);
    const config = (replicas: string): string =>
      `repository:\n  path: ${path('repo')}\n  passwordFile: ${path('password')}\n${replicas}`;
    await writeFile(
      path('hbr.yaml'),
      config(`replicas:\n  - name: offsite\n    path: ${path('offsite')}\n`),
    );
    await writeFile(
      path('auto.yaml'),
      config(
        `replicas:\n  - name: auto\n    path: ${path('auto')}\n    afterBackup: true\n` +
          `  - name: broken\n    path: /dev/null/replica\n    afterBackup: true\n`,
      ),
    );
    env = {};
    opts = { env, cwd: dir.path };
    await writeTree(path('src'), 1);
    await run(['init', '--pack-size', '1']);
    await run(['backup', 'src']);
    await writeTree(path('src'), 2);
    await run(['backup', 'src']);
  });
  after(async () => dir.remove());

  it('copies the whole repository, then nothing more, and the replica alone lists, restores and checks', async () => {
    const first = replicateSummary(await run(['replicate', '--to', 'offsite', '--json']));
    assert.equal(first.ok, true);
    assert.equal(first.newReplica, true);
    assert.ok((first.kinds.data?.copied ?? 0) >= 6, JSON.stringify(first.kinds));
    assert.equal(first.kinds.snapshots?.copied, 2);
    for (const prefix of ['data', 'index', 'snapshots', 'keys'])
      assert.deepEqual(await objects(path('offsite'), prefix), await objects(path('repo'), prefix));
    assert.deepEqual(
      await readFile(path('offsite', 'config')),
      await readFile(path('repo', 'config')),
    );

    const again = replicateSummary(await run(['replicate', '--to', 'offsite', '--json']));
    assert.equal(again.copiedObjects, 0);
    assert.equal(again.newReplica, false);
    const human = await run(['replicate', '--to', 'offsite']);
    assert.match(human.stdout, /nothing \(the replica was up to date\)/);

    assert.deepEqual(
      await backupIds(path('offsite'), { env: { HBR_PASSWORD: PASSWORD }, cwd: dir.path }),
      await backupIds(path('repo'), { env: { HBR_PASSWORD: PASSWORD }, cwd: dir.path }),
    );
    await onReplica(path('offsite'), ['restore', 'latest', '--target', 'restored']);
    await assertSameTree(path('restored', path('src')), path('src'));
    await onReplica(path('offsite'), ['check', '--read-data']);
  });

  it('shows progress against the totals of the run, also on an up-to-date replica where it only reads, and none with --no-progress', async () => {
    /** The `--json` status lines of a run. */
    const statuses = (stdout: string): Record<string, unknown>[] =>
      stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.messageType === 'status');
    const args = ['replicate', '--to-repo', path('watched'), '--json'];
    const first = await run(args);
    const copied = replicateSummary(first);
    assert.ok(copied.copiedObjects > 0);
    assert.deepEqual(_counts(statuses(first.stdout).at(-1)), [
      copied.copiedObjects,
      copied.copiedObjects,
      copied.copiedBytes,
      copied.copiedBytes,
      1,
    ]);

    // Nothing to copy, but the source's index objects and manifests are read (the gap check):
    // minutes on a large remote repository, shown as it goes.
    const again = await run(args);
    assert.equal(replicateSummary(again).copiedObjects, 0);
    const last = statuses(again.stdout).at(-1);
    assert.equal(last?.task, 'replicate');
    const [done, total, bytes, totalBytes, percent] = _counts(last);
    assert.ok(Number(total) >= 4, `objects read: ${String(total)}`);
    assert.deepEqual([done, bytes, percent], [total, totalBytes, 1]);

    const quiet = await run([...args, '--no-progress']);
    assert.deepEqual(statuses(quiet.stdout), []);
  });

  it('replicates after each backup to replicas marked afterBackup, and a failing one is a warning', async () => {
    await writeTree(path('src'), 3);
    const backup = await expectCode(['--config', 'auto.yaml', 'backup', 'src', '--json'], opts, 3);
    const summary = summaryOf(backup) as {
      backupId: string;
      replicas: { replica: string; ok: boolean; copiedObjects?: number; error?: string }[];
    };
    const [auto, broken] = summary.replicas;
    assert.equal(auto?.replica, 'auto');
    assert.equal(auto.ok, true);
    assert.ok((auto.copiedObjects ?? 0) > 0);
    assert.equal(broken?.replica, 'broken');
    assert.equal(broken.ok, false);
    assert.match(backup.stderr, /replication to broken failed/);
    const ids = await backupIds(path('auto'), { env: { HBR_PASSWORD: PASSWORD }, cwd: dir.path });
    assert.ok(ids.includes(summary.backupId), 'the new backup is on the replica');
    assert.deepEqual(
      ids,
      await backupIds(path('repo'), { env: { HBR_PASSWORD: PASSWORD }, cwd: dir.path }),
    );
    await onReplica(path('auto'), ['check', '--read-data']);
  });

  it('replicates after a backup to the repository of the config named by HBR_REPOSITORY, and says so when another was named', async () => {
    await writeTree(path('src'), 4);
    const viaEnv = { env: { HBR_REPOSITORY: path('repo'), HBR_PASSWORD: PASSWORD }, cwd: dir.path };
    const backup = await expectCode(
      ['--config', 'auto.yaml', 'backup', 'src', '--json'],
      viaEnv,
      3,
    );
    const summary = summaryOf(backup) as { backupId: string; replicas: { replica: string }[] };
    assert.deepEqual(
      summary.replicas.map((r) => r.replica),
      ['auto', 'broken'],
    );
    const onAuto = await backupIds(path('auto'), {
      env: { HBR_PASSWORD: PASSWORD },
      cwd: dir.path,
    });
    assert.ok(onAuto.includes(summary.backupId), 'the new backup is on the replica');

    await expectCode(
      ['--repo', 'elsewhere', 'init'],
      { env: { HBR_PASSWORD: PASSWORD }, cwd: dir.path },
      0,
    );
    const other = await expectCode(
      ['--config', 'auto.yaml', '--repo', 'elsewhere', 'backup', 'src'],
      { env: { HBR_PASSWORD: PASSWORD }, cwd: dir.path },
      0,
    );
    assert.match(other.stderr, /replicas auto, broken \(afterBackup in .*auto\.yaml\) not run/);
  });

  it('repairs a replica that lost packs and a manifest', async () => {
    await run(['replicate', '--to', 'offsite']);
    const packs = await objects(path('offsite'), 'data');
    const manifests = await objects(path('offsite'), 'snapshots');
    const lost = [packs[0], packs[3], manifests[0]].map((k) => k ?? '');
    for (const key of lost) await rm(path('offsite', key));
    const damaged = await onReplica(path('offsite'), ['check'], 4);
    assert.match(damaged.stdout, /missing|not found/i);

    const repair = replicateSummary(await run(['replicate', '--to', 'offsite', '--json']));
    assert.equal(repair.kinds.data?.copied, 2);
    assert.equal(repair.kinds.snapshots?.copied, 1);
    assert.equal(repair.copiedObjects, 3);
    await onReplica(path('offsite'), ['check', '--read-data']);
  });

  it('finds corrupted packs on the replica with check --read-data, naming them', async () => {
    await run(['replicate', '--to', 'offsite']);
    const pack = (await objects(path('offsite'), 'data'))[1] ?? '';
    const bytes = await readFile(path('offsite', pack));
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x01;
    await writeFile(path('offsite', pack), bytes);

    const check = await onReplica(path('offsite'), ['check', '--read-data'], 4);
    const packId = pack.slice(pack.lastIndexOf('/') + 1);
    assert.ok(check.stdout.includes(packId), `check names pack ${packId}:\n${check.stdout}`);

    // The way to repair: remove the damaged object from the replica and replicate again.
    await rm(path('offsite', pack));
    const repair = replicateSummary(await run(['replicate', '--to', 'offsite', '--json']));
    assert.equal(repair.copiedObjects, 1);
    await onReplica(path('offsite'), ['check', '--read-data']);
  });

  it('refuses to replicate into a location holding another repository', async () => {
    await expectCode(['--repo', path('other'), 'init'], {
      env: { HBR_PASSWORD: 'x' },
      cwd: dir.path,
    });
    const refused = await run(['replicate', '--to-repo', path('other')], 2);
    assert.match(refused.stderr, /holds a different repository/);
    await run(['replicate'], 2);
    const unknown = await run(['replicate', '--to', 'nowhere'], 1);
    assert.match(unknown.stderr, /no replica named "nowhere".*replicas: offsite/);
  });

  it('names a damaged source object, copies the rest and exits 4', async () => {
    const target = path('adhoc');
    const pack = (await objects(path('repo'), 'data'))[2] ?? '';
    const original = await readFile(path('repo', pack));
    const bytes = Buffer.from(original);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    await writeFile(path('repo', pack), bytes);
    try {
      const result = await run(['replicate', '--to-repo', target, '--json'], 4);
      const summary = replicateSummary(result);
      assert.deepEqual(
        summary.errors.map((e) => e.key),
        [pack],
      );
      assert.match(result.stderr, new RegExp(`incomplete.*${pack}`));
      assert.equal(
        (await objects(target, 'data')).length,
        (await objects(path('repo'), 'data')).length - 1,
      );
      assert.equal(
        (await objects(target, 'snapshots')).length,
        (await objects(path('repo'), 'snapshots')).length,
      );
    } finally {
      await writeFile(path('repo', pack), original);
    }
    const rest = replicateSummary(await run(['replicate', '--to-repo', target, '--json']));
    assert.equal(rest.copiedObjects, 1);
    await onReplica(target, ['check', '--read-data']);
  });

  it('maintain says a local store has no object retention and changes nothing', async () => {
    const result = await run(['maintain', '--retain-for', '30d', '--json']);
    const summary = summaryOf(result) as { supported: boolean; extended: { data: number } };
    assert.equal(summary.supported, false);
    assert.equal(summary.extended.data, 0);
    assert.match(
      (await run(['maintain', '--retain-for', '30d'])).stdout,
      /does not support object retention/,
    );
    await run(['maintain', '--retain-for', 'soon'], 2);
  });

  it('gives the replica a password added on the source, so it still opens after the old one is removed there', async () => {
    const as = (password: string) => ({ env: { HBR_PASSWORD: password }, cwd: dir.path });
    const [repo, replica] = [path('keyed'), path('keyed-replica')];
    await expectCode(['--repo', repo, 'init'], as(PASSWORD));
    await expectCode(['--repo', repo, 'backup', 'src'], as(PASSWORD));
    await expectCode(['--repo', repo, 'replicate', '--to-repo', replica], as(PASSWORD));
    await writeFile(path('new-password'), 'the new password\n');
    await expectCode(
      ['--repo', repo, 'key', 'add', '--new-password-file', 'new-password'],
      as(PASSWORD),
    );
    const keys = JSON.parse(
      (await expectCode(['--repo', repo, 'key', 'list', '--json'], as('the new password'))).stdout,
    ) as { id: string; current: boolean }[];
    const old = keys.find((k) => !k.current)?.id ?? '';
    await expectCode(['--repo', repo, 'key', 'remove', old.slice(0, 8)], as('the new password'));

    const again = await expectCode(
      ['--repo', repo, 'replicate', '--to-repo', replica, '--json'],
      as('the new password'),
    );
    const summary = replicateSummary(again) as ReturnType<typeof replicateSummary> & {
      warnings: { key: string; reason: string }[];
    };
    assert.equal(summary.kinds.keys?.copied, 1);
    assert.deepEqual(
      summary.warnings.map((w) => [w.key, w.reason]),
      [[`keys/${old}`, 'removed-key']],
    );
    const human = await expectCode(
      ['--repo', repo, 'replicate', '--to-repo', replica],
      as('the new password'),
    );
    assert.match(human.stdout, /WARNING: .*no longer on the source/);
    await expectCode(['--repo', replica, 'backups'], as('the new password'));
  });

  it('refuses a retention the replica cannot hold, before copying anything', async () => {
    const flag = await run(
      ['replicate', '--to-repo', path('unretained'), '--retain-for', '90d'],
      2,
    );
    assert.match(flag.stderr, /does not support object retention.*nothing was copied/);
    await writeFile(
      path('retained.yaml'),
      `repository:\n  path: ${path('repo')}\n  passwordFile: ${path('password')}\n` +
        `replicas:\n  - name: held\n    path: ${path('unretained')}\n    retainFor: 90d\n`,
    );
    const config = await run(['--config', 'retained.yaml', 'replicate', '--to', 'held'], 2);
    assert.match(config.stderr, /does not support object retention/);
    assert.deepEqual(await readdir(path('unretained')).catch(() => []), []);
  });

  it('names a pack the source index lists but the source lacks, and exits 4', async () => {
    const source = path('gappy');
    await cp(path('repo'), source, { recursive: true });
    const pack = (await objects(source, 'data'))[0] ?? '';
    await rm(join(source, pack));
    const result = await expectCode(
      ['--repo', source, 'replicate', '--to-repo', path('gappy-replica')],
      { env: { HBR_PASSWORD: PASSWORD }, cwd: dir.path },
      4,
    );
    assert.match(result.stdout, new RegExp(`ERROR: .*${pack}.*missing from the source`));
    assert.match(result.stderr, new RegExp(`incomplete.*${pack}`));
  });

  it('resumes after the replicating process is killed part way', async () => {
    const target = path('killed');
    const { child, done } = hbrProcess(['replicate', '--to-repo', target], {
      env: { HBR_PASSWORD: PASSWORD, HBR_REPOSITORY: path('repo') },
      cwd: dir.path,
    });
    // Kill it as soon as it has written its first packs.
    for (;;) {
      const packs = await objects(target, 'data').catch(() => []);
      if (packs.length >= 2) break;
      await sleep(5);
    }
    child.kill('SIGKILL');
    const killed = await done;
    assert.notEqual(killed.code, 0, `it was killed before finishing:\n${killed.stdout}`);
    const partial = await objects(target, 'data');
    assert.ok(partial.length < (await objects(path('repo'), 'data')).length);
    assert.deepEqual(await objects(target, 'snapshots').catch(() => []), []);
    await onReplica(target, ['check']); // valid: packs without index are tolerated

    const resumed = replicateSummary(
      await expectCode(['replicate', '--to-repo', target, '--json'], {
        env: { HBR_PASSWORD: PASSWORD, HBR_REPOSITORY: path('repo') },
        cwd: dir.path,
      }),
    );
    assert.equal(resumed.newReplica, false);
    assert.ok((resumed.kinds.data?.present ?? 0) >= partial.length);
    await onReplica(target, ['check', '--read-data']);
    await onReplica(target, ['restore', 'latest', '--target', 'from-killed']);
    await assertSameTree(path('from-killed', path('src')), path('src'));
  });
});

/** Objects done and total, bytes done and total, and the fraction of a `--json` status line. */
function _counts(status: Record<string, unknown> | undefined): unknown[] {
  return [
    status?.filesDone,
    status?.totalFiles,
    status?.bytesDone,
    status?.totalBytes,
    status?.percentDone,
  ];
}

import assert from 'node:assert/strict';
import {
  chmod,
  lstat,
  mkdir,
  open,
  readFile,
  readlink,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { hbr, hbrProcess, summaryOf, withoutRootRights } from '../helpers/cli.ts';
import { float32Bytes } from '../../src/repository/testdata/inputs.ts';
import { cliRepository } from '../helpers/cli-repository.ts';
import { pseudoRandomBytes, textBytes } from '../helpers/temp.ts';

describe('hbr backup and restore of file trees', () => {
  const cli = cliRepository({ password: 'secret words' });
  const { run } = cli;
  let src: string;

  before(async () => {
    src = join(cli.path, 'storage');
    await mkdir(join(src, 'models', 'deep', 'er'), { recursive: true });
    await writeFile(join(src, 'models', 'weights.bin'), pseudoRandomBytes(6 * 1024 * 1024, 1));
    await writeFile(join(src, 'models', 'deep', 'er', 'notes.json'), textBytes(100_000, 2));
    await writeFile(join(src, 'empty'), '');
    await writeFile(join(src, 'ünïcødé ✓ name.txt'), 'unicode\n');
    await writeFile(join(src, 'script.sh'), '#!/bin/sh\n');
    await chmod(join(src, 'script.sh'), 0o750);
    await utimes(
      join(src, 'empty'),
      new Date('2020-01-02T03:04:05.678Z'),
      new Date('2020-01-02T03:04:05.678Z'),
    );
    await symlink('models/weights.bin', join(src, 'link'));
    await writeFile(join(src, 'scratch.tmp'), 'leave me out');
    await mkdir(join(src, 'cache'));
    await writeFile(join(src, 'cache', 'x'), 'leave me out');
    await writeFile(join(src, '.hbrignore'), 'cache/\n');
  });

  it('restores every kind of entry with content, mode, mtime and link target, and honours excludes', async () => {
    const backup = await run('backup', 'storage', '--exclude', '*.tmp', '--json');
    assert.equal(backup.code, 0, backup.stderr);
    const summary = summaryOf(backup);
    assert.equal(summary.newFiles, 6); // weights, notes, empty, unicode, script, .hbrignore
    // Progress knows the totals (from a scan beside the backup), so it can show % and an ETA.
    const statuses = backup.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.messageType === 'status');
    const last = statuses.at(-1);
    assert.equal(last?.totalFiles, summary.totalFiles);
    assert.equal(last?.totalBytes, summary.totalBytes);
    assert.equal(last?.percentDone, 1);
    const restored = await run('restore', 'latest', '--target', 'out');
    assert.equal(restored.code, 0, restored.stderr);
    const back = join(cli.path, 'out', src);
    assert.ok(
      (await readFile(join(back, 'models', 'weights.bin'))).equals(
        await readFile(join(src, 'models', 'weights.bin')),
      ),
    );
    assert.ok(
      (await readFile(join(back, 'models', 'deep', 'er', 'notes.json'))).equals(
        await readFile(join(src, 'models', 'deep', 'er', 'notes.json')),
      ),
    );
    assert.equal(await readFile(join(back, 'ünïcødé ✓ name.txt'), 'utf8'), 'unicode\n');
    assert.equal((await stat(join(back, 'empty'))).size, 0);
    assert.equal((await stat(join(back, 'empty'))).mtime.toISOString(), '2020-01-02T03:04:05.678Z');
    assert.equal((await stat(join(back, 'script.sh'))).mode & 0o777, 0o750);
    assert.equal(await readlink(join(back, 'link')), 'models/weights.bin');
    assert.ok((await lstat(join(back, 'link'))).isSymbolicLink());
    await assert.rejects(lstat(join(back, 'scratch.tmp')), { code: 'ENOENT' });
    await assert.rejects(lstat(join(back, 'cache')), { code: 'ENOENT' });
  });

  it('does not read unchanged files again, and stores only what changed', async () => {
    // With HBR_TRACE_PHASES=1 the backup also says on stderr where its time went, in order.
    // A process of its own: tracing is a setting of the process, read once at start.
    const traced = await hbrProcess(['backup', 'storage', '--exclude', '*.tmp', '--json'], {
      env: { ...cli.env, HBR_TRACE_PHASES: '1' },
      cwd: cli.path,
    }).done;
    assert.equal(traced.code, 0, traced.stderr);
    const phases = [...traced.stderr.matchAll(/^\[phase\] \+(\d+) (.+)$/gm)];
    assert.deepEqual(
      phases.map((m) => m[2]),
      [
        'key derivation started', // before the command's own code loads (cli/early-unlock.ts)
        'command started',
        'repository opened',
        'session started',
        'files walked',
        'committed',
        'exit',
      ],
    );
    const times = phases.map((m) => Number(m[1]));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
    const again = summaryOf(traced);
    assert.equal(again.bytesRead, 0);
    assert.equal(again.newFiles, 0);
    assert.equal(again.changedFiles, 0);
    assert.ok(Number(again.addedBytes) < 2048, `added ${String(again.addedBytes)}`);

    await writeFile(join(src, 'models', 'deep', 'er', 'notes.json'), textBytes(100_000, 3));
    // A large file changed in place (read along its stored chunks, none cut).
    const weights = join(src, 'models', 'weights.bin');
    const handle = await open(weights, 'r+');
    await handle.write(pseudoRandomBytes(4096, 9), 0, 4096, 3 * 1024 * 1024);
    await handle.close();
    const changed = summaryOf(await run('backup', 'storage', '--exclude', '*.tmp', '--json'));
    assert.equal(changed.changedFiles, 2);
    assert.equal(changed.bytesRead, 100_000 + 6 * 1024 * 1024);
    // The chunks around the change are new; the rest of the 6 MiB is stored already.
    assert.ok(Number(changed.addedBytes) < 4 * 1024 * 1024, `added ${String(changed.addedBytes)}`);
    const back = await run('restore', 'latest', '--target', 'changed', '--include', weights);
    assert.equal(back.code, 0, back.stderr);
    assert.ok((await readFile(join(cli.path, 'changed', weights))).equals(await readFile(weights)));

    const diff = await run('diff', String(again.shortId), String(changed.shortId));
    assert.match(diff.stdout, /^M {2}.*notes\.json$/m);
    assert.match(diff.stdout, /^M {2}.*weights\.bin$/m);
    assert.match(diff.stdout, /2 modified/);

    // Bytes inserted near its start (another size): cut again, on the workers; the chunks after
    // the insertion are found again.
    const before = await readFile(weights);
    const inserted = Buffer.concat([
      before.subarray(0, 1000),
      Buffer.from('ten bytes!'),
      before.subarray(1000),
    ]);
    await writeFile(weights, inserted);
    const grown = summaryOf(await run('backup', 'storage', '--exclude', '*.tmp', '--json'));
    assert.equal(grown.changedFiles, 1);
    assert.ok(Number(grown.addedBytes) < 4 * 1024 * 1024, `added ${String(grown.addedBytes)}`);
    const grownBack = await run('restore', 'latest', '--target', 'grown', '--include', weights);
    assert.equal(grownBack.code, 0, grownBack.stderr);
    assert.ok((await readFile(join(cli.path, 'grown', weights))).equals(inserted));
  });

  it('lists backups and files, as text and JSON', async () => {
    const list = await run('backups', '--json');
    const backups = JSON.parse(list.stdout) as { id: string; source: string; paths: string[] }[];
    assert.equal(backups.length, 4);
    assert.deepEqual(backups[0]?.paths, [src]);
    const ls = await run('ls', backups[0]?.id.slice(0, 8) ?? '', join(src, 'models'));
    assert.match(ls.stdout, /weights\.bin/);
    assert.doesNotMatch(ls.stdout, /empty/);
    const human = await run('backups');
    assert.match(human.stdout, /4 backups/);
  });

  it('restores only the included paths, refuses to overwrite, and overwrites when asked', async () => {
    const notes = join(src, 'models', 'deep', 'er', 'notes.json');
    const part = await run(
      'restore',
      'latest',
      '--target',
      'part',
      '--include',
      join(src, 'models', 'deep'),
    );
    assert.equal(part.code, 0, part.stderr);
    assert.ok((await readFile(join(cli.path, 'part', notes))).equals(await readFile(notes)));
    await assert.rejects(lstat(join(cli.path, 'part', src, 'empty')), { code: 'ENOENT' });

    await writeFile(join(cli.path, 'part', notes), 'local edit');
    const refused = await run(
      'restore',
      'latest',
      '--target',
      'part',
      '--include',
      join(src, 'models', 'deep'),
    );
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /refusing to overwrite 1 existing file.*notes\.json.*--overwrite/);
    assert.equal(await readFile(join(cli.path, 'part', notes), 'utf8'), 'local edit');

    const forced = await run(
      'restore',
      'latest',
      '--target',
      'part',
      '--include',
      join(src, 'models', 'deep'),
      '--overwrite',
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok((await readFile(join(cli.path, 'part', notes))).equals(await readFile(notes)));

    const missing = await run(
      'restore',
      'latest',
      '--target',
      'part',
      '--include',
      '/no/such/path',
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not in backup .*\/no\/such\/path/);
  });

  it('restores over an earlier restore whose folders are read-only, and takes / for everything', async () => {
    const first = await run('restore', 'latest', '--target', 'again', '--include', '/');
    assert.equal(first.code, 0, first.stderr);
    const notes = join(src, 'models', 'deep', 'er', 'notes.json');
    assert.ok((await readFile(join(cli.path, 'again', notes))).equals(await readFile(notes)));
    // Folders as a backup of read-only ones would leave them, and a file to replace inside.
    await writeFile(join(cli.path, 'again', notes), 'local edit');
    for (const folder of ['models', join('models', 'deep'), join('models', 'deep', 'er')])
      await chmod(join(cli.path, 'again', src, folder), 0o555);
    // As root, folders are writable whatever their mode: drop the capabilities that allow it.
    const { done } = hbrProcess(['restore', 'latest', '--target', 'again', '--overwrite'], {
      env: cli.env,
      cwd: cli.path,
      prefix: withoutRootRights(),
    });
    const again = await done;
    assert.equal(again.code, 0, again.stderr);
    assert.ok((await readFile(join(cli.path, 'again', notes))).equals(await readFile(notes)));
    // And each folder ends with the backup's mode.
    assert.equal(
      (await stat(join(cli.path, 'again', src, 'models', 'deep'))).mode & 0o7777,
      (await stat(join(src, 'models', 'deep'))).mode & 0o7777,
    );
  });

  it("never takes another machine's backup of the same paths for its parent", async () => {
    const env2 = { HBR_REPOSITORY: join(cli.path, 'repo-hosts'), HBR_PASSWORD: 'pw' };
    assert.equal((await hbr(['init'], { env: env2, cwd: cli.path })).code, 0);
    await mkdir(join(cli.path, 'hosted'));
    await writeFile(join(cli.path, 'hosted', 'h.txt'), 'the same name, size, time and inode');
    // The same folder backed up under another host name (a clone of this machine, say), with a
    // cache of its own.
    const { done } = hbrProcess(['backup', 'hosted', '--json'], {
      env: { ...env2, HBR_CACHE_DIR: join(cli.path, 'other-cache') },
      cwd: cli.path,
      prefix: ['unshare', '-ru', 'sh', '-c', 'hostname other-machine && exec "$@"', '--'],
    });
    const other = await done;
    assert.equal(other.code, 0, other.stderr);
    const here = await hbr(['backup', 'hosted', '--json'], { env: env2, cwd: cli.path });
    assert.equal(here.code, 0, here.stderr);
    // Its files matched this one's by every stat: taken as the parent, nothing would be read.
    assert.equal(summaryOf(here).newFiles, 1);
    const backups = JSON.parse(
      (await hbr(['backups', '--json'], { env: env2, cwd: cli.path })).stdout,
    ) as {
      host: string;
      parent?: string;
    }[];
    assert.deepEqual(
      backups.map((b) => [b.host === 'other-machine', b.parent]),
      [
        [true, undefined],
        [false, undefined],
      ],
    );
  });

  it('takes the parent of the host --host or HBR_HOST names, for a container whose hostname changes', async () => {
    const env3 = { HBR_REPOSITORY: join(cli.path, 'repo-named-host'), HBR_PASSWORD: 'pw' };
    const runAs = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
      hbr(args, { env: { ...env3, ...extra }, cwd: cli.path });
    assert.equal((await runAs(['init'])).code, 0);
    await mkdir(join(cli.path, 'named'));
    await writeFile(join(cli.path, 'named', 'n.txt'), 'read once');
    const first = await runAs(['backup', 'named', '--host', 'web-1', '--json']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(summaryOf(first).newFiles, 1);
    // The same host named by the environment: the first is its parent, nothing is read.
    const second = await runAs(['backup', 'named', '--json'], { HBR_HOST: 'web-1' });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(summaryOf(second).unchangedFiles, 1);
    assert.equal(summaryOf(second).bytesRead, 0);
    // This machine's own name: another host, no parent.
    const third = await runAs(['backup', 'named', '--json']);
    assert.equal(summaryOf(third).newFiles, 1);
    const backups = JSON.parse((await runAs(['backups', '--json'])).stdout) as {
      shortId: string;
      host: string;
      parent?: string;
    }[];
    assert.deepEqual(
      backups.map((b) => b.host === 'web-1'),
      [true, true, false],
    );
    assert.ok(backups[1]?.parent?.startsWith(String(summaryOf(first).shortId)));
    assert.equal(backups[2]?.parent, undefined);
    for (const name of [' ', '']) {
      // An empty one too: a script's unset variable, which would bring the problem back unseen.
      const blank = await runAs(['backup', 'named', '--host', name]);
      assert.equal(blank.code, 2, blank.stderr);
      assert.match(blank.stderr, /--host/);
    }
  });

  it('stores float32 weights as byte lanes: smaller than whole compression, checked and restored whole', async () => {
    const weights = float32Bytes(3, 1024 * 1024); // 4 MiB: whole, zstd keeps 0.93 of it
    await mkdir(join(cli.path, 'weights'));
    await writeFile(join(cli.path, 'weights', 'model.bin'), weights);
    const backup = await run('backup', 'weights', '--json');
    assert.equal(backup.code, 0, backup.stderr);
    const added = Number(summaryOf(backup).addedBytes);
    assert.ok(added < weights.length * 0.87, `added ${added} of ${weights.length}`);
    const checked = await run('check', '--read-data');
    assert.equal(checked.code, 0, checked.stderr);
    const restored = await run('restore', 'latest', '--target', 'out-weights');
    assert.equal(restored.code, 0, restored.stderr);
    const back = await readFile(join(cli.path, 'out-weights', cli.path, 'weights', 'model.bin'));
    assert.ok(back.equals(weights));
  });

  it('backs up a source named in hbr.yaml', async () => {
    await writeFile(
      join(cli.path, 'hbr.yaml'),
      `repository:\n  path: repo\n  passwordFile: pw\nsources:\n  - name: models\n    files:\n      paths: [storage/models]\n`,
    );
    await writeFile(join(cli.path, 'pw'), 'secret words\n');
    const cfgEnv = { PATH: process.env.PATH };
    const result = await hbr(['backup', '--source', 'models', '--json'], {
      env: cfgEnv,
      cwd: cli.path,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(summaryOf(result).source, 'models');
    const listed = JSON.parse(
      (await hbr(['backups', '--source', 'models', '--json'], { env: cfgEnv, cwd: cli.path }))
        .stdout,
    ) as { paths: string[] }[];
    assert.deepEqual(
      listed.map((b) => b.paths),
      [[join(src, 'models')]],
    );

    // The repository and password of hbr.yaml are known before the command loads, as --repo and
    // HBR_PASSWORD are: the key derivation starts first (a process of its own, as above).
    const traced = await hbrProcess(['backup', '--source', 'models', '--json'], {
      env: { ...cfgEnv, HBR_TRACE_PHASES: '1' },
      cwd: cli.path,
    }).done;
    assert.equal(traced.code, 0, traced.stderr);
    const phases = [...traced.stderr.matchAll(/^\[phase\] \+\d+ (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(phases.slice(0, 2), ['key derivation started', 'command started']);
  });
});

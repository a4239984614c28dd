import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { summaryOf } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';

describe('hbr backup of paths that lead through symlinks', () => {
  const cli = cliRepository();
  const { run } = cli;
  let home: string;

  before(async () => {
    home = await realpath(cli.path);
    // `lk` → `disk`, as `/data` → `/mnt/disk1/data`; `dl` a link to the folder itself.
    await mkdir(join(cli.path, 'disk', 'data'), { recursive: true });
    await writeFile(join(cli.path, 'disk', 'data', 'f.txt'), 'the data');
    await symlink('disk', join(cli.path, 'lk'));
    await symlink(join('disk', 'data'), join(cli.path, 'dl'));
    await writeFile(join(cli.path, 'file.txt'), 'a file');
    await symlink('file.txt', join(cli.path, 'fl'));
  });

  it('backs up the folder a path leads to, records its real path, and says so', async () => {
    const real = join(home, 'disk', 'data');
    const backup = await run('backup', 'lk/data/', '--json');
    assert.equal(backup.code, 0, backup.stderr);
    const summary = summaryOf(backup);
    assert.equal(summary.newFiles, 1);
    assert.deepEqual(summary.recordedPaths, [
      { given: join(cli.path, 'lk', 'data'), recorded: real },
    ]);
    const text = await run('backup', 'lk/data');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`recorded as ${real}`));
    // The same folder through a link to it: the same recorded path, so the same parent.
    const again = await run('backup', 'dl', '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(summaryOf(again).unchangedFiles, 1);
    assert.equal(summaryOf(again).newFiles, 0);
    const backups = JSON.parse((await run('backups', '--json')).stdout) as {
      paths: string[];
      parent?: string;
    }[];
    assert.deepEqual(
      backups.map((b) => b.paths),
      [[real], [real], [real]],
    );
    assert.ok(backups.slice(1).every((b) => b.parent !== undefined));
  });

  it('leaves the user’s link in place when restoring in place', async () => {
    await writeFile(join(cli.path, 'disk', 'data', 'f.txt'), 'changed since');
    const restored = await run('restore', 'latest', '--target', '/', '--overwrite');
    assert.equal(restored.code, 0, restored.stderr);
    assert.ok((await lstat(join(cli.path, 'lk'))).isSymbolicLink());
    assert.ok((await lstat(join(cli.path, 'dl'))).isSymbolicLink());
    assert.equal(await readFile(join(cli.path, 'disk', 'data', 'f.txt'), 'utf8'), 'the data');
  });

  it('backs up the file a link given as a path leads to, as find -H follows it', async () => {
    const real = join(home, 'file.txt');
    const backup = await run('backup', join(cli.path, 'fl'), '--json');
    assert.equal(backup.code, 0, backup.stderr);
    const summary = summaryOf(backup);
    assert.equal(summary.bytesRead, 'a file'.length);
    assert.deepEqual(summary.recordedPaths, [{ given: join(cli.path, 'fl'), recorded: real }]);
    const target = join(cli.path, 'restored-file');
    const restored = await run('restore', 'latest', '--target', target);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(await readFile(join(target, real), 'utf8'), 'a file');
  });

  it('keeps a link that leads nowhere, and links inside a folder, as links', async () => {
    await symlink('missing.txt', join(cli.path, 'disk', 'data', 'gone'));
    await symlink(join('..', '..', 'file.txt'), join(cli.path, 'disk', 'data', 'inside'));
    await symlink('missing.txt', join(cli.path, 'dangling'));
    const backup = await run('backup', 'dangling', 'disk/data', '--json');
    assert.equal(backup.code, 0, backup.stderr);
    const recorded = summaryOf(backup).recordedPaths as { given: string }[];
    assert.ok(!recorded.some((r) => r.given.endsWith('dangling')));
    const listed = await run('ls', 'latest');
    assert.match(listed.stdout, /dangling -> missing\.txt/);
    assert.match(listed.stdout, /gone -> missing\.txt/);
    assert.match(listed.stdout, /inside -> \.\.\/\.\.\/file\.txt/);
    await rm(join(cli.path, 'disk', 'data', 'gone'));
    await rm(join(cli.path, 'disk', 'data', 'inside'));
  });

  it('applies an absolute exclude given through the link to what it leads to', async () => {
    await mkdir(join(cli.path, 'disk', 'data', 'cache'), { recursive: true });
    await writeFile(join(cli.path, 'disk', 'data', 'cache', 'big.bin'), 'not wanted');
    const excluded = join(cli.path, 'lk', 'data', 'cache');
    const given = await run('backup', join(cli.path, 'lk', 'data'), '--exclude', excluded);
    assert.equal(given.code, 0, given.stderr);
    assert.doesNotMatch((await run('ls', 'latest')).stdout, /cache/);
    // The same from a configured source.
    await writeFile(
      join(cli.path, 'hbr.yaml'),
      [
        `repository: { path: ${JSON.stringify(join(cli.path, 'repo'))} }`,
        'sources:',
        `  - { name: linked, files: { paths: [${JSON.stringify(join(cli.path, 'lk', 'data'))}], exclude: [${JSON.stringify(excluded)}] } }`,
        '',
      ].join('\n'),
    );
    const configured = await run('--config', 'hbr.yaml', 'backup', '--source', 'linked');
    assert.equal(configured.code, 0, configured.stderr);
    const listed = await run('--config', 'hbr.yaml', 'ls', 'latest');
    assert.match(listed.stdout, /f\.txt/);
    assert.doesNotMatch(listed.stdout, /cache/);
  });

  it('finds the latest backup of a path given through the link, as backups record it', async () => {
    assert.equal((await run('backup', 'fl')).code, 0); // the latest backup, of another path
    const listed = await run('ls', 'latest', '--path', join('lk', 'data'));
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /f\.txt/);
    const real = await run('ls', 'latest', '--path', join(home, 'disk', 'data'));
    assert.equal(real.code, 0, real.stderr);
  });
});

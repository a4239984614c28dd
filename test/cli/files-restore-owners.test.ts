import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, lchown, lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { hbrProcess, summaryOf } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';
import { pseudoRandomBytes } from '../helpers/temp.ts';

const isRoot = process.geteuid?.() === 0;
/** `nobody`: not mapped in a user namespace that maps root alone. */
const NOBODY = 65534;

describe('restoring where owners cannot be given', { skip: !isRoot && 'needs root' }, () => {
  const cli = cliRepository();
  let src: string;
  const big = pseudoRandomBytes(3 * 1024 * 1024, 7);

  before(async () => {
    src = join(cli.path, 'src');
    // Nobody's: a setgid folder, a setuid program (small: written by a codec worker), a large
    // file, a FIFO and a link.
    await mkdir(join(src, 'shared'), { recursive: true });
    await writeFile(join(src, 'shared', 'tool'), '#!/bin/sh\nid\n');
    await writeFile(join(src, 'shared', 'big'), big);
    await promisify(execFile)('mkfifo', [join(src, 'shared', 'pipe')]);
    await symlink('tool', join(src, 'shared', 'link'));
    for (const name of ['tool', 'big', 'pipe', 'link'])
      await lchown(join(src, 'shared', name), NOBODY, NOBODY);
    await lchown(join(src, 'shared'), NOBODY, NOBODY);
    await chmod(join(src, 'shared'), 0o2775);
    await chmod(join(src, 'shared', 'tool'), 0o4755);
    const backup = await cli.run('backup', 'src');
    assert.equal(backup.code, 0, backup.stderr);
  });

  it('restores the data as root of a user namespace, owners left out and counted in one warning', async () => {
    const target = join(cli.path, 'rootless');
    // Root of a rootless container: nobody's id is not mapped, so fchown gives EINVAL.
    const restored = await hbrProcess(['restore', 'latest', '--target', target, '--json'], {
      env: cli.env,
      cwd: cli.path,
      prefix: ['unshare', '-r'],
    }).done;
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    const shared = join(target, src, 'shared');
    assert.equal(await readFile(join(shared, 'tool'), 'utf8'), '#!/bin/sh\nid\n');
    assert.ok((await readFile(join(shared, 'big'))).equals(big));
    assert.ok((await lstat(join(shared, 'pipe'))).isFIFO());
    assert.ok((await lstat(join(shared, 'link'))).isSymbolicLink());
    assert.equal(((await lstat(join(shared, 'tool'))).mode & 0o7777).toString(8), '755');
    assert.equal(((await lstat(shared)).mode & 0o7777).toString(8), '775');
    const summary = summaryOf(restored);
    assert.deepEqual(summary.errors, []);
    assert.deepEqual((summary.ownersNotSet as { count: number; codes: string[] }).count, 5);
    assert.deepEqual((summary.ownersNotSet as { codes: string[] }).codes, ['EINVAL']);
    const text = await hbrProcess(['restore', 'latest', '--target', `${target}-text`], {
      env: cli.env,
      cwd: cli.path,
      prefix: ['unshare', '-r'],
    }).done;
    assert.equal(text.code, 0, text.stdout + text.stderr);
    // Once: as a warning, not again in the summary right after it.
    const said = `${text.stdout}${text.stderr}`.match(
      /5 owner\(s\) could not be set \(EINVAL\): .*shared.*; setuid\/setgid bits left out/g,
    );
    assert.equal(said?.length, 1, text.stdout + text.stderr);
  });

  it('gives an ordinary user back the setuid and setgid bits that are theirs to give', async () => {
    // Nobody, in group `users` (100): a shared setgid folder of that group, nobody's setuid
    // program in it, and a setgid folder of a group nobody is not in (4242).
    const home = join(cli.path, 'user');
    await chmod(cli.path, 0o755);
    await mkdir(join(home, 'src', 'shared'), { recursive: true });
    await mkdir(join(home, 'src', 'other'));
    await writeFile(join(home, 'src', 'shared', 'tool'), '#!/bin/sh\nid\n');
    for (const [path, gid, mode] of [
      ['', NOBODY, 0o755],
      ['src', NOBODY, 0o755],
      [join('src', 'shared'), 100, 0o2775],
      [join('src', 'shared', 'tool'), 100, 0o4755],
      [join('src', 'other'), 4242, 0o2775],
    ] as const) {
      await lchown(join(home, path), NOBODY, gid);
      await chmod(join(home, path), mode);
    }
    const asNobody = (...args: string[]) =>
      hbrProcess(args, {
        env: { HBR_REPOSITORY: join(home, 'repo'), HBR_PASSWORD: 'pw', HOME: home },
        cwd: home,
        prefix: ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--groups=100'],
      }).done;
    for (const args of [['init'], ['backup', 'src']]) {
      const result = await asNobody(...args);
      assert.equal(result.code, 0, result.stdout + result.stderr);
    }
    const restored = await asNobody('restore', 'latest', '--target', 'target', '--json');
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    const at = (path: string) => lstat(join(home, 'target', home, 'src', path));
    const shared = await at('shared');
    assert.deepEqual([shared.gid, (shared.mode & 0o7777).toString(8)], [100, '2775']);
    const tool = await at(join('shared', 'tool'));
    assert.deepEqual([tool.uid, tool.gid, (tool.mode & 0o7777).toString(8)], [NOBODY, 100, '4755']);
    // 4242 is not nobody's to give: its setgid bit is left out, and counted.
    const other = await at('other');
    assert.deepEqual([other.gid, (other.mode & 0o7777).toString(8)], [NOBODY, '775']);
    assert.equal(summaryOf(restored).setidNotRestored, 1);
  });
});

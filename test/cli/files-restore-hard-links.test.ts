import assert from 'node:assert/strict';
import { link, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { hbrProcess, summaryOf } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';
import { textBytes } from '../helpers/temp.ts';

describe('hbr restore of files that were hard links of one file', () => {
  const cli = cliRepository();
  const { run } = cli;
  let src: string;
  const content = textBytes(20_000, 5);

  before(async () => {
    src = join(cli.path, 'src');
    await mkdir(join(src, 'a'), { recursive: true });
    await mkdir(join(src, 'b'), { recursive: true });
    await writeFile(join(src, 'a', 'one'), content);
    await link(join(src, 'a', 'one'), join(src, 'a', 'two'));
    await link(join(src, 'a', 'one'), join(src, 'b', 'three'));
    const backup = await run('backup', 'src');
    assert.equal(backup.code, 0, backup.stderr);
  });

  it('restores them as links, and says how many', async () => {
    const target = join(cli.path, 'json');
    const restored = await run('restore', 'latest', '--target', target, '--json');
    assert.equal(restored.code, 0, restored.stderr);
    const summary = summaryOf(restored);
    assert.equal(summary.files, 3);
    assert.equal(summary.hardLinks, 2);
    assert.deepEqual(summary.linksNotMade, { count: 0, codes: [], first: [] });
    const st = await stat(join(target, src, 'b', 'three'));
    assert.equal(st.nlink, 3);
    assert.equal((await stat(join(target, src, 'a', 'one'))).ino, st.ino);

    const text = await run('restore', 'latest', '--target', join(cli.path, 'text'));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Restored: 3 files, .*\nLinked: +2 file\(s\) as hard links/);
  });

  it('restores a link as a copy, with one warning, where the file system cannot make it', async () => {
    // `b` another file system (a tmpfs, in a mount namespace of the restore's own): a link
    // from `a` into it fails with EXDEV.
    const target = join(cli.path, 'mounts');
    const mountPoint = join(target, src, 'b');
    await mkdir(mountPoint, { recursive: true });
    const restored = await hbrProcess(['restore', 'latest', '--target', target, '--json'], {
      env: cli.env,
      cwd: cli.path,
      prefix: ['unshare', '-rm', 'sh', '-c', 'mount -t tmpfs tmpfs "$0" && exec "$@"', mountPoint],
    }).done;
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    const summary = summaryOf(restored);
    assert.deepEqual(summary.errors, []);
    assert.equal(summary.files, 3);
    assert.equal(summary.hardLinks, 1);
    assert.deepEqual(summary.linksNotMade, {
      count: 1,
      codes: ['EXDEV'],
      first: [join(src, 'b', 'three')],
    });
    // Once: as a JSON warning line, not again in the summary.
    const said = `${restored.stdout}${restored.stderr}`.match(
      /1 hard link\(s\) could not be made \(EXDEV\): .*three; restored as copies/g,
    );
    assert.equal(said?.length, 1, restored.stdout + restored.stderr);
    // The tmpfs went with the namespace: what was restored into it is gone, the rest is here.
    const two = await stat(join(target, src, 'a', 'two'));
    assert.equal(two.nlink, 2);
    assert.deepEqual(await readFile(join(target, src, 'a', 'one')), content);
  });
});

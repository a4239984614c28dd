import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { hbrProcess, withoutRootRights } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';

// As root, folders are searchable and writable whatever their modes: these runs drop the
// capabilities that allow it, as the reviewer's runs as `nobody` had none.
const LIMITED = withoutRootRights('fowner');

describe('restoring where some folders cannot be searched or written', () => {
  const cli = cliRepository();
  let src: string;
  const limited = (...args: string[]) =>
    hbrProcess(args, { env: cli.env, cwd: cli.path, prefix: LIMITED }).done;

  before(async () => {
    src = join(cli.path, 'src');
    await mkdir(join(src, 'locked'), { recursive: true });
    await mkdir(join(src, 'z', 'sub'), { recursive: true });
    await mkdir(join(src, 'other'), { recursive: true });
    await writeFile(join(src, 'locked', 'f.txt'), 'from the backup');
    await writeFile(join(src, 'z', 'sub', 'a.txt'), 'a');
    await writeFile(join(src, 'z', 'sub', 'b.txt'), 'b');
    await writeFile(join(src, 'other', 'c.txt'), 'c');
    const backup = await cli.run('backup', 'src');
    assert.equal(backup.code, 0, backup.stderr);
  });

  it('refuses, without --overwrite, a file it cannot tell is there (a folder without search permission)', async () => {
    const target = join(cli.path, 'unsearchable');
    const folder = join(target, src, 'locked');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'f.txt'), 'mine');
    await chmod(folder, 0o600); // listed, but no lookup inside it
    const result = await limited('restore', 'latest', '--target', target, '--include', src);
    await chmod(folder, 0o700);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(
      result.stderr,
      /refusing to restore over 1 file.*cannot be checked.*locked\/f\.txt/,
    );
    assert.equal(await readFile(join(folder, 'f.txt'), 'utf8'), 'mine');
  });

  it('fails the files of a folder it cannot make, restores the rest, and sums up', async () => {
    const target = join(cli.path, 'unwritable');
    // Someone else's `z`, in which this restore may not make `sub`.
    await mkdir(join(target, src, 'z'), { recursive: true });
    await chown(join(target, src, 'z'), 65534, 65534);
    const result = await limited('restore', 'latest', '--target', target);
    assert.equal(result.code, 3, result.stdout + result.stderr);
    assert.match(result.stdout, /Restored: 2 files/);
    assert.match(result.stdout, /FAILED: +3 file\(s\)/);
    assert.match(result.stdout, /z\/sub\/: EACCES/);
    assert.match(result.stdout, /z\/sub\/a\.txt: its folder .*z\/sub could not be made/);
    assert.match(result.stdout, /z\/sub\/b\.txt: its folder .*z\/sub could not be made/);
    assert.equal(await readFile(join(target, src, 'other', 'c.txt'), 'utf8'), 'c');
    assert.equal(await readFile(join(target, src, 'locked', 'f.txt'), 'utf8'), 'from the backup');
  });
});

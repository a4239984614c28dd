import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeRetired, retire } from './retire.ts';

void describe('retire', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-bench-retire-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('moves a tree aside with every file emptied and its inodes kept', async () => {
    const tree = join(dir, 'restore');
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    await writeFile(join(tree, 'top.bin'), Buffer.alloc(100_000, 1));
    await writeFile(join(tree, 'a', 'b', 'deep.json'), '{"x": 1}');
    await symlink('top.bin', join(tree, 'a', 'link'));
    const inode = (await stat(join(tree, 'a', 'b', 'deep.json'))).ino;
    const retired = join(dir, 'retired');

    await retire(tree, retired);

    await assert.rejects(lstat(tree), { code: 'ENOENT' });
    const [moved, ...others] = await readdir(retired);
    assert.equal(others.length, 0);
    const root = join(retired, moved!);
    assert.equal((await stat(join(root, 'top.bin'))).size, 0);
    const deep = await stat(join(root, 'a', 'b', 'deep.json'));
    assert.deepEqual([deep.size, deep.ino], [0, inode]);
    assert.ok((await lstat(join(root, 'a', 'link'))).isSymbolicLink());

    await removeRetired(retired);
    await assert.rejects(lstat(retired), { code: 'ENOENT' });
  });

  void it('retires a single file, and does nothing for a path that does not exist', async () => {
    const retired = join(dir, 'retired-2');
    await writeFile(join(dir, 'one.log'), 'text');
    await retire(join(dir, 'one.log'), retired);
    await retire(join(dir, 'missing'), retired);
    const names = await readdir(retired);
    assert.equal(names.length, 1);
    assert.match(names[0]!, /-one\.log$/);
    assert.equal((await stat(join(retired, names[0]!))).size, 0);
  });
});

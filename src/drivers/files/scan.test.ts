import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../../test/helpers/temp.ts';
import { scanFiles } from './scan.ts';

describe('scanFiles', () => {
  it('counts files, links and bytes as the backup will see them, excludes included', async () => {
    const dir = await tempDir();
    try {
      await mkdir(join(dir.path, 'a', 'cache'), { recursive: true });
      await writeFile(join(dir.path, 'a', 'one.bin'), Buffer.alloc(1000));
      await writeFile(join(dir.path, 'a', 'two.tmp'), Buffer.alloc(500));
      await writeFile(join(dir.path, 'a', 'cache', 'x'), Buffer.alloc(700));
      await writeFile(join(dir.path, 'a', '.hbrignore'), 'cache/\n');
      await symlink('one.bin', join(dir.path, 'a', 'link'));
      const seen: number[] = [];
      const totals = await scanFiles([join(dir.path, 'a')], ['*.tmp'], (t) => seen.push(t.files));
      // one.bin, .hbrignore and the link; two.tmp and cache/ are excluded.
      assert.deepEqual(totals, { files: 3, bytes: 1000 + 7 });
      assert.equal(seen.at(-1), 3);
    } finally {
      await dir.remove();
    }
  });
});

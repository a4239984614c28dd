import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../../test/helpers/temp.ts';
import { createExcluder } from './excludes.ts';

describe('createExcluder', () => {
  it('applies a folder .hbrignore below it, read from the listing or without one', async () => {
    const dir = await tempDir();
    try {
      const folder = join(dir.path, 'models');
      await mkdir(join(folder, 'cache'), { recursive: true });
      await writeFile(join(folder, '.hbrignore'), 'cache/\n*.tmp\n');
      const top = createExcluder(['*.bak']);
      for (const inner of [
        await top.enter(folder),
        await top.enter(folder, await readdir(folder, { withFileTypes: true })),
      ]) {
        assert.equal(inner.excludes(join(folder, 'cache'), true), true);
        assert.equal(inner.excludes(join(folder, 'w.tmp'), false), true);
        assert.equal(inner.excludes(join(folder, 'w.bin'), false), false);
        assert.equal(inner.excludes(join(folder, 'w.bak'), false), true);
        assert.equal(top.excludes(join(folder, 'w.tmp'), false), false);
      }
    } finally {
      await dir.remove();
    }
  });

  it('does not look for a .hbrignore that the folder listing does not have', async () => {
    const dir = await tempDir();
    try {
      await writeFile(join(dir.path, '.hbrignore'), '*.tmp\n');
      const top = createExcluder([]);
      // The listing is what the walk saw: a file it did not list is not read.
      const inner = await top.enter(dir.path, [{ name: 'w.tmp' }]);
      assert.equal(inner, top);
      assert.equal(inner.excludes(join(dir.path, 'w.tmp'), false), false);
    } finally {
      await dir.remove();
    }
  });
});

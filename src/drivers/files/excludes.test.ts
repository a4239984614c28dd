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

  it('matches a pattern ending in a slash against folders only, as .gitignore does', () => {
    const top = createExcluder(['cache/', '/data/tmp/', '/data/*/logs//']);
    assert.equal(top.excludes('/any/where/cache', true), true);
    assert.equal(top.excludes('/any/where/cache', false), false);
    assert.equal(top.excludes('/data/tmp', true), true);
    assert.equal(top.excludes('/data/tmp', false), false);
    assert.equal(top.excludes('/other/tmp', true), false);
    assert.equal(top.excludes('/data/sub/logs', true), true);
  });

  it('matches patterns with a slash against whole paths, and names against names', () => {
    const top = createExcluder(['/data/cach?', '/data/*/*.tmp', '*.bak']);
    assert.equal(top.excludes('/data/cache', true), true);
    assert.equal(top.excludes('/data/sub/x.tmp', false), true);
    assert.equal(top.excludes('/data/x.tmp', false), false);
    assert.equal(top.excludes('/other/cache', true), false);
    assert.equal(top.excludes('/any/where/w.bak', false), true);
    assert.equal(top.excludes('/any/where/w.bin', false), false);
  });

  it('lets a deeper .hbrignore re-include what one above excluded, as git does', async () => {
    const dir = await tempDir();
    try {
      const inner = join(dir.path, 'a');
      await mkdir(inner);
      await writeFile(join(dir.path, '.hbrignore'), '*.txt\n..*\n');
      await writeFile(join(inner, '.hbrignore'), '!keep.txt\n');
      const top = await createExcluder([]).enter(dir.path);
      const below = await top.enter(inner);
      assert.equal(below.excludes(join(inner, 'keep.txt'), false), false);
      assert.equal(below.excludes(join(inner, 'other.txt'), false), true);
      assert.equal(top.excludes(join(dir.path, 'keep.txt'), false), true);
      // Names that begin with two dots are names like any other.
      assert.equal(top.excludes(join(dir.path, '..secret'), false), true);
      assert.equal(top.excludes(join(dir.path, 'plain'), false), false);
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

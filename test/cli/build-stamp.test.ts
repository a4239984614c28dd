import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isBuildFresh, STAMP_FILE } from '../../bin/build-stamp.js';
import { tempDir } from '../helpers/temp.ts';

describe('whether bin/hbr.js may run the compiled CLI', () => {
  let dir: { path: string; remove: () => Promise<void> };
  const built = new Date('2026-01-01T00:00:10Z');
  const before = new Date('2026-01-01T00:00:00Z');
  const later = new Date('2026-01-01T00:00:20Z');
  const at = (path: string, time: Date) => utimes(join(dir.path, path), time, time);

  beforeEach(async () => {
    dir = await tempDir();
    await mkdir(join(dir.path, 'src', 'cli'), { recursive: true });
    await mkdir(join(dir.path, 'dist'));
    await mkdir(join(dir.path, 'node_modules'));
    const files = [
      'tsconfig.json',
      'tsconfig.build.json',
      'node_modules/.package-lock.json',
      'src/cli/main.ts',
      'src/a.test.ts',
    ];
    for (const file of files) await writeFile(join(dir.path, file), '');
    for (const path of [...files, 'src/cli', 'src']) await at(path, before);
    await writeFile(
      join(dir.path, 'dist', STAMP_FILE),
      JSON.stringify({ startedAt: built.getTime() }),
    );
  });
  afterEach(async () => dir.remove());

  it('uses a build stamped after every source was written', () => {
    assert.equal(isBuildFresh(dir.path), true);
  });

  it('does not use a build without a stamp', async () => {
    await writeFile(join(dir.path, 'dist', STAMP_FILE), 'not json');
    assert.equal(isBuildFresh(dir.path), false);
  });

  it('does not use a build older than an edited source', async () => {
    await at('src/cli/main.ts', later);
    assert.equal(isBuildFresh(dir.path), false);
  });

  it('does not use a build older than an added, removed or renamed source', async () => {
    await at('src/cli', later);
    assert.equal(isBuildFresh(dir.path), false);
  });

  it('does not use a build older than a tsconfig', async () => {
    await at('tsconfig.build.json', later);
    assert.equal(isBuildFresh(dir.path), false);
  });

  it('does not use a build older than the installed packages (bundled into it)', async () => {
    await at('node_modules/.package-lock.json', later);
    assert.equal(isBuildFresh(dir.path), false);
  });

  it('ignores edited tests, which are not compiled', async () => {
    await at('src/a.test.ts', later);
    assert.equal(isBuildFresh(dir.path), true);
  });
});

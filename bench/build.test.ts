import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { STAMP_FILE } from '../bin/build-stamp.js';
import { assertStillBuilt, ensureBuilt } from './build.ts';

test('a benchmark refuses numbers once a source changed after the build', async () => {
  const root = await mkdtemp(join(tmpdir(), 'hbr-bench-build-'));
  try {
    const built = Date.now() - 60_000;
    const source = join(root, 'src', 'cli.ts');
    await mkdir(join(root, 'src'));
    await mkdir(join(root, 'dist'));
    await writeFile(source, 'export {};\n');
    const before = new Date(built - 60_000);
    await utimes(source, before, before);
    await utimes(join(root, 'src'), before, before);
    await writeFile(join(root, 'dist', STAMP_FILE), JSON.stringify({ startedAt: built }));
    const logged: string[] = [];
    await ensureBuilt(root, (m) => logged.push(m));
    assert.deepEqual(logged, [], 'a fresh build is used as it is');
    assertStillBuilt(root);
    await writeFile(source, 'export const edited = true;\n');
    assert.throws(() => assertStillBuilt(root), /a source changed while the benchmark ran/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hbr } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

// `hbr backup "$DIR"` and `restore --target "$DEST"` with the variable unset, as in a cron job:
// an empty argument must not mean the current folder.
describe('hbr with an empty path or target', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let env: NodeJS.ProcessEnv;
  const run = (args: string[], cwd = dir.path) => hbr(args, { env, cwd });

  before(async () => {
    dir = await tempDir();
    env = { HBR_REPOSITORY: join(dir.path, 'repo'), HBR_PASSWORD: 'pw' };
    await mkdir(join(dir.path, 'data'));
    await writeFile(join(dir.path, 'data', 'a.txt'), 'alpha');
    assert.equal((await run(['init'])).code, 0);
  });
  after(async () => dir.remove());

  it('refuses to back up an empty path', async () => {
    const result = await run(['backup', ''], join(dir.path, 'data'));
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /empty path/);
    assert.equal((await run(['backups', '--json'])).stdout.trim(), '[]');
  });

  it('refuses to restore into an empty target', async () => {
    assert.equal((await run(['backup', 'data'])).code, 0);
    const into = join(dir.path, 'here');
    await mkdir(into);
    const result = await run(['restore', 'latest', '--target', ''], into);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /empty target/);
    assert.deepEqual(await readdir(into), []);
  });
});

import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { hbr } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';

// `hbr backup "$DIR"` and `restore --target "$DEST"` with the variable unset, as in a cron job:
// an empty argument must not mean the current folder.
describe('hbr with an empty path or target', () => {
  const cli = cliRepository();
  const run = (args: string[], cwd = cli.path) => hbr(args, { env: cli.env, cwd });

  before(async () => {
    await mkdir(join(cli.path, 'data'));
    await writeFile(join(cli.path, 'data', 'a.txt'), 'alpha');
  });

  it('refuses to back up an empty path', async () => {
    const result = await run(['backup', ''], join(cli.path, 'data'));
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /empty path/);
    assert.equal((await run(['backups', '--json'])).stdout.trim(), '[]');
  });

  it('refuses to restore into an empty target', async () => {
    assert.equal((await run(['backup', 'data'])).code, 0);
    const into = join(cli.path, 'here');
    await mkdir(into);
    const result = await run(['restore', 'latest', '--target', ''], into);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /empty target/);
    assert.deepEqual(await readdir(into), []);
  });
});

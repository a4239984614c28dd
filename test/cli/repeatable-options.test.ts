import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { summaryOf } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';

// Options that take values take one each and repeat; the words after one stay arguments.
describe('hbr options given once per value', () => {
  const cli = cliRepository();
  const { run } = cli;

  before(async () => {
    await mkdir(join(cli.path, 'src', 'cache'), { recursive: true });
    await writeFile(join(cli.path, 'src', 'a.txt'), 'a');
    await writeFile(join(cli.path, 'src', 'b.log'), 'b');
    await writeFile(join(cli.path, 'src', 'cache', 'c.bin'), 'c');
  });

  it('backs up the path given after --exclude and --tag, each repeated', async () => {
    const backup = await run(
      'backup',
      ...['--exclude', 'cache/', '--exclude', '*.log', '--tag', 'one', '--tag', 'two'],
      'src',
      '--json',
    );
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(summaryOf(backup).newFiles, 1, 'a.txt only');
    const listed = await run('backups', '--json');
    assert.deepEqual((JSON.parse(listed.stdout) as { tags: string[] }[])[0]?.tags, ['one', 'two']);
  });

  it('refuses an empty value (an unset variable) as a usage error', async () => {
    for (const args of [
      ['backup', '--exclude', '', 'src'],
      ['restore', 'latest', '--target', 'out2', '--path', ''],
      ['restore', 'latest', '--target', 'out2', '--include', ''],
    ]) {
      const result = await run(...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /argument '' is invalid\. it is empty/);
    }
  });

  it('restores the backup named after --include, each include repeated', async () => {
    await run('backup', 'src');
    const src = join(cli.path, 'src');
    const restore = await run(
      'restore',
      ...['--include', join(src, 'a.txt'), '--include', join(src, 'cache')],
      'latest',
      '--target',
      'out',
    );
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(await readFile(join(cli.path, 'out', src, 'a.txt'), 'utf8'), 'a');
    assert.equal(await readFile(join(cli.path, 'out', src, 'cache', 'c.bin'), 'utf8'), 'c');
    await assert.rejects(readFile(join(cli.path, 'out', src, 'b.log')), { code: 'ENOENT' });
  });
});

import assert from 'node:assert/strict';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { hbrProcess, summaryOf, withoutRootRights, type CliResult } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';

describe('hbr forget and backups that stored nothing', () => {
  const cli = cliRepository({
    // A test that failed before giving the folder back its permissions leaves it unreadable.
    beforeRemove: (path) => chmod(join(path, 'src', 'd'), 0o755).catch(() => undefined),
  });
  const { run } = cli;
  // As root, files are readable whatever their mode: the backup runs without the capabilities
  // that allow it, and the folder belongs to another user.
  const asRoot = process.getuid?.() === 0;
  const backupUnreadable = async (...args: string[]): Promise<CliResult> =>
    hbrProcess(['backup', ...args], {
      env: cli.env,
      cwd: cli.path,
      prefix: withoutRootRights(),
    }).done;

  before(async () => {
    await mkdir(join(cli.path, 'src', 'd'), { recursive: true });
    await writeFile(join(cli.path, 'src', 'd', 'file'), 'data\n');
  });

  it('keeps the newest backup that holds the files for --keep-last 1, and removes the newer one that could read nothing', async () => {
    const good = await run('backup', 'src/d', '--json');
    assert.equal(good.code, 0, good.stderr);
    const goodId = String(summaryOf(good).shortId);
    const folder = join(cli.path, 'src', 'd');
    if (asRoot) await chown(folder, 65534, 65534);
    await chmod(folder, 0o000);
    const failed = await backupUnreadable('src/d', '--json');
    await chmod(folder, 0o755);
    assert.equal(failed.code, 3, failed.stderr);
    const failedId = String(summaryOf(failed).shortId);

    const forgot = await run('forget', '--keep-last', '1');
    assert.equal(forgot.code, 0, forgot.stderr);
    assert.match(forgot.stdout, new RegExp(`^keep  +${goodId} .* last$`, 'm'));
    assert.match(forgot.stdout, new RegExp(`^remove +${failedId} .* stored nothing$`, 'm'));
    const left = JSON.parse((await run('backups', '--json')).stdout) as { shortId: string }[];
    assert.deepEqual(
      left.map((b) => b.shortId),
      [goodId],
    );
    const restored = await run('restore', 'latest', '--target', 'back');
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /Restored: 1 files/);
  });
});

import assert from 'node:assert/strict';
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { cliRepository } from '../helpers/cli-repository.ts';
import { pseudoRandomBytes } from '../helpers/temp.ts';

const MiB = 1024 * 1024;

describe('hbr backup and restore of a sparse file', () => {
  const cli = cliRepository();
  const { run } = cli;

  before(async () => {
    await mkdir(join(cli.path, 'vm'));
    // A disk image of 32 MiB holding 1 MiB of data, the rest a hole.
    const image = await open(join(cli.path, 'vm', 'disk.img'), 'wx');
    await image.write(pseudoRandomBytes(MiB, 3), 0, MiB, 0);
    await image.truncate(32 * MiB);
    await image.close();
    await writeFile(join(cli.path, 'vm', 'notes.txt'), 'a file without holes');
  });

  it('lists the file as sparse and restores it with its hole', async () => {
    assert.equal((await run('backup', 'vm')).code, 0);
    const listed = await run('ls', 'latest', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const nodes = JSON.parse(listed.stdout) as { path: string; sparse?: true }[];
    const sparse = (name: string): boolean | undefined =>
      nodes.find((n) => n.path.endsWith(`/vm/${name}`))?.sparse;
    assert.equal(sparse('disk.img'), true);
    assert.equal(sparse('notes.txt'), undefined);

    const restored = await run('restore', 'latest', '--target', 'out');
    assert.equal(restored.code, 0, restored.stderr);
    const path = join(cli.path, 'out', cli.path, 'vm', 'disk.img');
    assert.deepEqual(await readFile(path), await readFile(join(cli.path, 'vm', 'disk.img')));
    const st = await stat(path);
    assert.equal(st.size, 32 * MiB);
    assert.ok(st.blocks * 512 < 8 * MiB, `${st.blocks * 512} bytes allocated`);
  });
});

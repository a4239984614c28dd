import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backUpFiles } from '../../../test/helpers/files-backup.ts';
import { tempDir } from '../../../test/helpers/temp.ts';
import { initRepository, type BackupRecord, type OpenRepository } from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { restoreFiles } from './restore.ts';

const password = { kind: 'password', password: 'pw' } as const;

/** The pid of a process that has ended. */
async function endedPid(): Promise<number> {
  const child = execFile('true');
  await new Promise((resolve) => child.on('exit', resolve));
  assert.ok(child.pid);
  return child.pid;
}

describe('restoring again after a restore was killed', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;
  let repo: OpenRepository;
  let backup: BackupRecord;
  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    await mkdir(join(data, 'd'), { recursive: true });
    await writeFile(join(data, 'top.txt'), 'top');
    await writeFile(join(data, 'd', 'a.txt'), 'a');
    repo = await initRepository(createLocalStore({ path: join(dir.path, 'repo') }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    await backUpFiles(repo, { paths: [data], exclude: [] });
    backup = (await repo.backups()).at(-1) as BackupRecord;
  });
  after(async () => dir.remove());

  it("reports, and never removes, files named as a restore's temporary files in the folders restored into", async () => {
    const target = join(dir.path, 'target');
    assert.deepEqual((await restoreFiles({ repo, backup, target })).errors, []);
    // What a SIGKILLed restore leaves, or one still running in another pid namespace or on
    // another host over NFS (its pid tells nothing here), or a user's own file so named.
    const dead = (await endedPid()).toString(36);
    const named = [
      join(target, data, `.${dead}-0123abcd-0.hbr-restore`),
      join(target, data, 'd', `.${dead}-0123abcd-1z.hbr-restore`),
      join(target, data, 'd', '.zz-0badf00d-1.hbr-restore'),
    ];
    // Not named so.
    const others = [
      join(target, data, 'd', '.mine.hbr-restore'),
      join(target, data, 'd', `.${dead}-0123abcd-1.hbr-restore.txt`),
    ];
    for (const path of [...named, ...others]) await writeFile(path, Buffer.alloc(1024));
    // One that is a folder: reported all the same, and no failure.
    await mkdir(join(target, data, `.${dead}-0123abcd-7.hbr-restore`));
    const again = await restoreFiles({ repo, backup, target, overwrite: true });
    assert.deepEqual(again.errors, []);
    assert.equal(again.leftoverTemps.count, 4);
    assert.deepEqual(
      [...again.leftoverTemps.first].sort(),
      [...named, join(target, data, `.${dead}-0123abcd-7.hbr-restore`)].sort(),
    );
    for (const path of [...named, ...others]) assert.ok(existsSync(path), path);
  });
});

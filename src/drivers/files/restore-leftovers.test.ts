import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
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

  it('removes the temporary files it left in the folders restored into, and only those', async () => {
    const target = join(dir.path, 'target');
    assert.deepEqual((await restoreFiles({ repo, backup, target })).errors, []);
    // What a SIGKILLed restore leaves: files under its temporary names, beside those it wrote.
    const dead = (await endedPid()).toString(36);
    const left = [
      join(target, data, `.${dead}-0123abcd-0.hbr-restore`),
      join(target, data, 'd', `.${dead}-0123abcd-1z.hbr-restore`),
    ];
    // Not hbr's, or of a restore still running (this process stands in for one).
    const kept = [
      join(target, data, 'd', '.mine.hbr-restore'),
      join(target, data, 'd', `.${dead}-0123abcd-1.hbr-restore.txt`),
      join(target, data, 'd', `.${process.pid.toString(36)}-0123abcd-2.hbr-restore`),
    ];
    for (const path of [...left, ...kept]) await writeFile(path, Buffer.alloc(1024));
    const again = await restoreFiles({ repo, backup, target, overwrite: true });
    assert.deepEqual(again.errors, []);
    assert.equal(again.staleTempsRemoved, 2);
    assert.deepEqual((await readdir(join(target, data))).sort(), ['d', 'top.txt']);
    assert.deepEqual(
      (await readdir(join(target, data, 'd'))).sort(),
      ['a.txt', ...kept.map((p) => p.slice(join(target, data, 'd').length + 1))].sort(),
    );
  });
});

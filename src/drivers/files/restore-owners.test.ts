import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { renameSync, symlinkSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { backUpFiles, nodeAt } from '../../../test/helpers/files-backup.ts';
import { pseudoRandomBytes, tempDir } from '../../../test/helpers/temp.ts';
import {
  initRepository,
  openRepository,
  type BackupRecord,
  type OpenRepository,
} from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { restoreFiles } from './restore.ts';

const password = { kind: 'password', password: 'pw' } as const;
const isRoot = process.geteuid?.() === 0;
/** `nobody` and `nogroup` on Debian; any ids other than root's would do. */
const NOBODY = 65534;

describe('restoring owners, and setuid and setgid bits', { skip: !isRoot && 'needs root' }, () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;
  let repoPath: string;
  let backup: BackupRecord;
  // A setuid program of nobody's, small (written by a codec worker) and large (of several blobs),
  // in a setgid folder of nobody's, beside a link and a FIFO of nobody's and a plain file of
  // root's.
  const entries = [
    { path: 'shared', mode: 0o2775 },
    { path: join('shared', 'tool'), mode: 0o6755 },
    { path: join('shared', 'big-tool'), mode: 0o4755 },
    { path: join('shared', 'link') },
    { path: join('shared', 'pipe'), mode: 0o640 },
    { path: 'plain', mode: 0o644, root: true },
  ];
  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    repoPath = join(dir.path, 'repo');
    await mkdir(join(data, 'shared'), { recursive: true });
    await writeFile(join(data, 'shared', 'tool'), '#!/bin/sh\nid\n');
    await writeFile(join(data, 'shared', 'big-tool'), pseudoRandomBytes(3 * 1024 * 1024, 3));
    await symlink('tool', join(data, 'shared', 'link'));
    await promisify(execFile)('mkfifo', [join(data, 'shared', 'pipe')]);
    await writeFile(join(data, 'plain'), 'root owns this');
    for (const { path, mode, root } of entries) {
      if (!root) await lchown(join(data, path), NOBODY, NOBODY);
      if (mode !== undefined) await chmod(join(data, path), mode); // after: chown clears the bits
    }
    const repo = await initRepository(createLocalStore({ path: repoPath }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    await backUpFiles(repo, { paths: [data], exclude: [] });
    backup = (await repo.backups()).at(-1) as BackupRecord;
  });
  after(async () => dir.remove());

  const opened = (): Promise<OpenRepository> =>
    openRepository(createLocalStore({ path: repoPath }), password);

  it('records the numeric owner and group of files, folders, links and FIFOs', async () => {
    const repo = await opened();
    for (const { path, root } of entries) {
      const node = await nodeAt(repo, backup.tree, join(data, path));
      const id = root ? 0 : NOBODY;
      assert.deepEqual([node?.uid, node?.gid], [id, id], path);
    }
  });

  it('gives them back as root, setuid and setgid bits with them', async () => {
    const target = join(dir.path, 'as-root');
    const result = await restoreFiles({ repo: await opened(), backup, target });
    assert.deepEqual(result.errors, []);
    for (const { path, mode, root } of entries) {
      const st = await lstat(join(target, data, path));
      const id = root ? 0 : NOBODY;
      assert.deepEqual([st.uid, st.gid], [id, id], path);
      if (mode !== undefined) assert.equal((st.mode & 0o7777).toString(8), mode.toString(8), path);
    }
    assert.equal(result.setidNotRestored, 0);
  });

  it('leaves setuid and setgid bits out, and counts them, when owners are not given back', async () => {
    const target = join(dir.path, 'not-root');
    const result = await restoreFiles({ repo: await opened(), backup, target, owners: false });
    assert.deepEqual(result.errors, []);
    assert.equal(result.setidNotRestored, 3);
    for (const { path, mode } of entries) {
      const st = await lstat(join(target, data, path));
      assert.deepEqual([st.uid, st.gid], [0, 0], path);
      if (mode !== undefined)
        assert.equal((st.mode & 0o7777).toString(8), (mode & 0o1777).toString(8), path);
    }
  });

  it("never gives a folder's owner to what a link put in its place points to", async () => {
    // A user who can write where the restore goes swaps a restored folder for a link to a root
    // file once its content is in, before its owner and mode are set.
    const target = join(dir.path, 'swapped');
    const victim = join(dir.path, 'victim');
    await writeFile(victim, 'root owns this');
    await chmod(victim, 0o600);
    const shared = join(target, data, 'shared');
    let swapped = false;
    const result = await restoreFiles({
      repo: await opened(),
      backup,
      target,
      onProgress: (p) => {
        // Every entry but the folder restored (the summary leaves out FIFOs, so not totalFiles).
        // At once (synchronously): the restore goes on meanwhile.
        if (p.files === entries.length - 1 && !swapped) {
          renameSync(shared, `${shared}.moved`);
          symlinkSync(victim, shared);
          swapped = true;
        }
      },
    });
    assert.ok(swapped, 'the folder was swapped for a link');
    const st = await lstat(victim);
    assert.deepEqual([st.uid, st.gid, (st.mode & 0o7777).toString(8)], [0, 0, '600']);
    assert.deepEqual(
      result.errors.map((e) => e.path),
      [`${join(data, 'shared')}/`],
    );
  });
});

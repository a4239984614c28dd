import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { describe, it } from 'node:test';
import { nodeAt } from '../../../test/helpers/files-backup.ts';
import { tempDir } from '../../../test/helpers/temp.ts';
import { initRepository, startSession, type BackupRecord } from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { backupFiles } from './backup.ts';
import { restoreFiles } from './restore.ts';

const password = { kind: 'password', password: 'pw' } as const;
const fast = { scryptParams: { N: 1024, r: 8, p: 1 } };

describe('backing up files', () => {
  it('backs up the root folder itself, as any other', async () => {
    const dir = await tempDir();
    try {
      const data = join(dir.path, 'data');
      await mkdir(join(data, 'sub'), { recursive: true });
      await writeFile(join(data, 'a.txt'), 'alpha');
      await writeFile(join(data, 'sub', 'b.txt'), 'beta');
      // Everything but the way down to `data` excluded, folder by folder (as absolute paths).
      const exclude: string[] = [];
      const parts = data.split(sep).filter(Boolean);
      for (let depth = 0; depth < parts.length; depth++) {
        const folder = sep + parts.slice(0, depth).join(sep);
        for (const name of await readdir(folder))
          if (name !== parts[depth]) exclude.push(join(folder, name));
      }
      const repo = await initRepository(
        createLocalStore({ path: join(dir.path, 'repo') }),
        password,
        fast,
      );
      const session = await startSession(repo);
      const { tree, stats } = await backupFiles({ repo, session, paths: [sep], exclude });
      const backup: BackupRecord = await session.commitTree(
        tree,
        { source: 'files', kind: 'files', type: 'snapshot', startedAt: new Date() },
        { files: stats.files, bytes: stats.bytes },
      );
      // Folders made meanwhile beside the way down (other tests') may be in it too: what is
      // asked is that the root's tree holds `data`, whole.
      assert.equal((await nodeAt(repo, tree, data))?.type, 'dir');
      const target = join(dir.path, 'target');
      const restored = await restoreFiles({ repo, backup, target, include: [data] });
      assert.deepEqual(restored.errors, []);
      assert.equal(await readFile(join(target, data, 'a.txt'), 'utf8'), 'alpha');
      assert.equal(await readFile(join(target, data, 'sub', 'b.txt'), 'utf8'), 'beta');
    } finally {
      await dir.remove();
    }
  });

  it('records a link above a backed-up path as the folder it leads to', async () => {
    const dir = await tempDir();
    try {
      const real = join(dir.path, 'real');
      await mkdir(join(real, 'sub'), { recursive: true });
      await writeFile(join(real, 'sub', 'f.txt'), 'f');
      await chmod(real, 0o750);
      await symlink(real, join(dir.path, 'link'));
      const repo = await initRepository(
        createLocalStore({ path: join(dir.path, 'repo') }),
        password,
        fast,
      );
      const session = await startSession(repo);
      const { tree, errors } = await backupFiles({
        repo,
        session,
        paths: [join(dir.path, 'link', 'sub')],
      });
      assert.deepEqual(errors, []);
      await session.commitTree(
        tree,
        { source: 'files', kind: 'files', type: 'snapshot', startedAt: new Date() },
        { files: 1, bytes: 1 },
      );
      const node = await nodeAt(repo, tree, join(dir.path, 'link'));
      assert.equal(node?.type, 'dir');
      assert.equal(node?.mode, (await stat(real)).mode & 0o7777);
      assert.equal((await nodeAt(repo, tree, join(dir.path, 'link', 'sub', 'f.txt')))?.size, 1);
    } finally {
      await dir.remove();
    }
  });
});

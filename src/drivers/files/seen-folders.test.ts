import assert from 'node:assert/strict';
import { lstatSync } from 'node:fs';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { backUpFiles, nodeAt as nodeIn } from '../../../test/helpers/files-backup.ts';
import { tempDir } from '../../../test/helpers/temp.ts';
import { initRepository, type OpenRepository, type TreeNode } from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { scanFiles } from './scan.ts';
import { SeenFolders, statAt, type SeenFolder } from './seen-folders.ts';

const noTotals = (): void => undefined;

describe('folders seen by the scan', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;
  beforeEach(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    await mkdir(join(data, 'sub'), { recursive: true });
    await writeFile(join(data, 'b.txt'), 'bee\n');
    await writeFile(join(data, 'a.txt'), 'a\n');
    await writeFile(join(data, 'x.tmp'), 'scratch\n');
    await writeFile(join(data, 'sub', 'c.txt'), 'sea\n');
    await symlink('a.txt', join(data, 'link'));
  });
  afterEach(async () => dir.remove());

  it('tells whether anything it kept was modified after a time', async () => {
    const { lutimes, utimes } = await import('node:fs/promises');
    const then = new Date('2026-01-01T00:00:00Z');
    const before = new Date(then.getTime() - 60_000);
    for (const name of ['a.txt', 'b.txt', 'x.tmp', 'sub/c.txt', 'sub', '.']) {
      await utimes(join(data, name), before, before);
    }
    await lutimes(join(data, 'link'), before, before);
    const scanned = async (): Promise<SeenFolders> => {
      const seen = new SeenFolders();
      await scanFiles([data], [], noTotals, undefined, seen);
      return seen;
    };
    assert.equal((await scanned()).modifiedAfter(then), false);
    await utimes(join(data, 'sub', 'c.txt'), before, new Date(then.getTime() + 1));
    assert.equal((await scanned()).modifiedAfter(then), true);
  });

  it('keeps each listing sorted, with the stats of what is not excluded, once, until closed', async () => {
    const seen = new SeenFolders();
    await scanFiles([data], ['*.tmp'], noTotals, undefined, seen);
    const top = seen.take(data);
    assert.ok(top, 'the top folder is kept');
    assert.deepEqual(
      top.entries.map((e) => e.name),
      ['a.txt', 'b.txt', 'link', 'sub', 'x.tmp'],
    );
    const statted = (folder: SeenFolder): string[] =>
      folder.entries.flatMap((e, i) => (statAt(folder, i) ? [e.name] : []));
    assert.deepEqual(statted(top), ['a.txt', 'b.txt', 'link', 'sub']);
    for (const [i, entry] of top.entries.entries()) {
      if (entry.name === 'x.tmp') continue;
      const real = lstatSync(join(data, entry.name), { bigint: true });
      assert.deepEqual(statAt(top, i), {
        size: real.size,
        mtimeNs: real.mtimeNs,
        mode: real.mode,
        dev: real.dev,
        ino: real.ino,
        ctimeNs: real.ctimeNs,
        uid: real.uid,
        gid: real.gid,
        nlink: real.nlink,
        blocks: real.blocks,
      });
    }
    assert.equal(seen.take(data), undefined, 'taken once');
    const sub = seen.take(join(data, 'sub'));
    assert.ok(sub);
    assert.deepEqual(statted(sub), ['c.txt']);

    const closed = new SeenFolders();
    closed.close();
    const totals = await scanFiles([data], ['*.tmp'], noTotals, undefined, closed);
    assert.deepEqual(totals, { files: 4, bytes: 2 + 4 + 4 }, 'a closed one still counts');
    assert.equal(closed.take(data), undefined);

    const forgotten = new SeenFolders();
    await scanFiles([data], [], noTotals, undefined, forgotten);
    forgotten.close(true);
    assert.equal(forgotten.take(data), undefined);
  });

  describe('in a backup', () => {
    let repo: OpenRepository;
    beforeEach(async () => {
      repo = await initRepository(
        createLocalStore({ path: join(dir.path, 'repo') }),
        { kind: 'password', password: 'pw' },
        { scryptParams: { N: 1024, r: 8, p: 1 } },
      );
    });

    const backup = (parentTree?: string, seen?: SeenFolders): Promise<string> =>
      backUpFiles(repo, {
        paths: [data],
        exclude: ['*.tmp'],
        ...(parentTree ? { parentTree } : {}),
        ...(seen ? { seen } : {}),
      });
    const nodeAt = (tree: string, path: string): Promise<TreeNode | undefined> =>
      nodeIn(repo, tree, path);
    // The backed-up folder's own tree: the root's also holds its ancestors, whose mtimes change
    // whenever other tests create files beside them (in the system's temporary folder).
    const dataTree = async (tree: string): Promise<string | undefined> =>
      (await nodeAt(tree, data))?.subtree;

    it('stores what a walk of its own would, and reads a file changed after the scan', async () => {
      const parent = await backup();
      await writeFile(join(data, 'a.txt'), 'a, changed\n');
      await writeFile(join(data, 'sub', 'new.txt'), 'new\n');
      const seen = new SeenFolders();
      await scanFiles([data], ['*.tmp'], noTotals, undefined, seen);
      seen.close();
      // Replaced between the scan and the walk: the walk reads the file, so what it stores of
      // it (size, inode) is the file it read, not the one the scan saw.
      await writeFile(join(data, 'a.tmp'), 'a, changed once more\n');
      await rename(join(data, 'a.tmp'), join(data, 'a.txt'));
      const now = lstatSync(join(data, 'a.txt'), { bigint: true });
      const withSeen = await backup(parent, seen);
      const a = await nodeAt(withSeen, join(data, 'a.txt'));
      assert.equal(a?.size, 'a, changed once more\n'.length);
      assert.equal(a?.inode, `${now.dev}:${now.ino}`);
      assert.equal(a?.changedWhileReading, undefined);
      assert.ok(await nodeAt(withSeen, join(data, 'sub', 'new.txt')), 'a new file is in');
      assert.equal(await nodeAt(withSeen, join(data, 'x.tmp')), undefined, 'excludes hold');
      assert.equal(await dataTree(await backup(parent)), await dataTree(withSeen), 'the same tree');
    });

    it('lists and stats itself the folders the scan had no room left to keep', async () => {
      const parent = await backup();
      await writeFile(join(data, 'sub', 'c.txt'), 'sea, changed\n');
      const full = new SeenFolders(3); // the top folder's 5 entries fill it
      await scanFiles([data], ['*.tmp'], noTotals, undefined, full);
      assert.ok(full.take(data), 'the top folder is kept');
      assert.equal(full.take(join(data, 'sub')), undefined, 'its subfolder is not');
      const seen = new SeenFolders(3);
      await scanFiles([data], ['*.tmp'], noTotals, undefined, seen);
      seen.close();
      const withSeen = await backup(parent, seen);
      assert.equal((await nodeAt(withSeen, join(data, 'sub', 'c.txt')))?.size, 13);
      assert.equal(await dataTree(await backup(parent)), await dataTree(withSeen), 'the same tree');
    });
  });
});

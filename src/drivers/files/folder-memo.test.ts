import assert from 'node:assert/strict';
import {
  chmod,
  chown,
  mkdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join, sep } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { backUpFiles, nodeAt as nodeIn } from '../../../test/helpers/files-backup.ts';
import { tempDir } from '../../../test/helpers/temp.ts';
import { initRepository, type OpenRepository, type TreeNode } from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { createExcluder } from './excludes.ts';
import { FolderMemo, nodesDigest, summarizeSeen } from './folder-memo.ts';
import { scanFiles } from './scan.ts';
import { SeenFolders, type SeenFolder } from './seen-folders.ts';

const EXCLUDE = ['*.tmp'];
/** Another owner than the one running the tests: `nobody` when root, else itself (no change). */
const OTHER = process.geteuid?.() === 0 ? 65534 : (process.geteuid?.() ?? 0);

describe('the folder memo', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;
  let repo: OpenRepository;
  let treeReads: number;
  beforeEach(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    await mkdir(join(data, 'a', 'b', 'c'), { recursive: true });
    await mkdir(join(data, 'd'), { recursive: true });
    await writeFile(join(data, 'top.txt'), 'top\n');
    await writeFile(join(data, 'x.tmp'), 'scratch\n');
    await writeFile(join(data, 'a', 'one.txt'), 'one\n');
    await writeFile(join(data, 'a', 'b', 'two.txt'), 'two\n');
    await writeFile(join(data, 'a', 'b', 'c', 'three.txt'), 'three\n');
    await writeFile(join(data, 'd', 'four.txt'), 'four\n');
    const opened = await initRepository(
      createLocalStore({ path: join(dir.path, 'repo') }),
      { kind: 'password', password: 'pw' },
      { scryptParams: { N: 1024, r: 8, p: 1 } },
    );
    treeReads = 0;
    repo = {
      ...opened,
      readTree: (id, signal) => {
        treeReads++;
        return opened.readTree(id, signal);
      },
    };
  });
  afterEach(async () => dir.remove());

  const scanned = async (): Promise<SeenFolders> => {
    const seen = new SeenFolders();
    await scanFiles([data], EXCLUDE, () => undefined, undefined, seen);
    seen.close();
    return seen;
  };
  /** A backup of `data` as the command runs it: the scan's folders, and the memo if given. */
  const backup = async (parentTree?: string, memo?: FolderMemo, scan = true): Promise<string> => {
    const seen = scan ? await scanned() : undefined;
    return backUpFiles(repo, {
      paths: [data],
      exclude: EXCLUDE,
      ...(parentTree ? { parentTree } : {}),
      ...(seen ? { seen } : {}),
      ...(memo ? { memo } : {}),
    });
  };
  const nodeAt = (tree: string, path: string): Promise<TreeNode | undefined> =>
    nodeIn(repo, tree, path);
  // The backed-up folder's own tree: the root's also holds its ancestors, whose mtimes change
  // whenever other tests create files beside them (in the system's temporary folder).
  const dataTree = async (tree: string): Promise<string | undefined> =>
    (await nodeAt(tree, data))?.subtree;
  /** A memo holding what `memo` recorded, as the next backup loads it. */
  const next = (memo: FolderMemo): FolderMemo => new FolderMemo(new Map(memo.recorded));

  it("gives a stored folder's tree and the scan of it the same digest until an entry changes", async () => {
    const root = await backup();
    const tree = (await nodeAt(root, join(data, 'a')))?.subtree ?? '';
    const digestNow = async (ignoreCtime = false): Promise<string | undefined> => {
      const seen = await scanned();
      const folder = seen.take(join(data, 'a'));
      assert.ok(folder);
      return summarizeSeen(join(data, 'a'), folder, createExcluder(EXCLUDE), ignoreCtime)?.digest;
    };
    const stored = nodesDigest(await repo.readTree(tree));
    assert.match(stored ?? '', /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(await digestNow(), stored);
    const storedIgnoringCtime = nodesDigest(await repo.readTree(tree), true);
    assert.notEqual(storedIgnoringCtime, stored);
    assert.equal(await digestNow(true), storedIgnoringCtime);
    const seen = await scanned();
    const summary = summarizeSeen(
      join(data, 'a'),
      seen.take(join(data, 'a')) as SeenFolder,
      createExcluder(EXCLUDE),
    );
    assert.deepEqual(
      { files: summary?.files, bytes: summary?.bytes, subfolders: summary?.subfolders },
      { files: 1, bytes: 'one\n'.length, subfolders: ['b'] },
    );
    const changes: [string, () => Promise<unknown>][] = [
      ['a mode', () => chmod(join(data, 'a', 'one.txt'), 0o600)],
      ['an mtime', () => utimes(join(data, 'a', 'one.txt'), 1000, 1000)],
      ['a size', () => writeFile(join(data, 'a', 'one.txt'), 'one, longer\n')],
      ['a subfolder mtime', () => utimes(join(data, 'a', 'b'), 2000, 2000)],
      ['a new excluded file', () => writeFile(join(data, 'a', 'y.tmp'), 'y')],
      ['a new file', () => writeFile(join(data, 'a', 'new.txt'), 'new\n')],
    ];
    for (const [what, change] of changes) {
      const before = await digestNow();
      await change();
      const after = await digestNow();
      if (what === 'a new excluded file') {
        // The folder's own mtime is its parent's business; its excluded entries are nobody's.
        assert.equal(after, before, what);
      } else assert.notEqual(after, before, what);
    }
    // A file replaced by another of the same size and mtime: another inode.
    const path = join(data, 'a', 'one.txt');
    const other = join(data, 'one.new'); // made outside the folder: no new entry in it
    await writeFile(other, await readFile(path));
    await utimes(other, 1000, 1000);
    await utimes(path, 1000, 1000);
    const before = await digestNow();
    await rename(other, path);
    assert.notEqual(await digestNow(), before, 'another inode');
    // The same file rewritten in place to its old size and mtime: only its ctime moves (the
    // clock behind it ticks every few ms, so rewrite until it has).
    const sameInode = await digestNow();
    const sameIgnoringCtime = await digestNow(true);
    const { ctimeNs } = await stat(path, { bigint: true });
    do {
      await sleep(5);
      await writeFile(path, await readFile(path));
      await utimes(path, 1000, 1000);
    } while ((await stat(path, { bigint: true })).ctimeNs === ctimeNs);
    assert.notEqual(await digestNow(), sameInode, 'another ctime');
    assert.equal(await digestNow(true), sameIgnoringCtime, 'another ctime, ignored');
    // A chown -R run before each backup: ctimes ignored, the owners still count.
    if (OTHER !== process.geteuid?.()) {
      const byOwner = await digestNow(true);
      await chown(path, OTHER, OTHER);
      assert.notEqual(await digestNow(true), byOwner, 'another owner, ctimes ignored');
      const subfolderOwner = await digestNow(true);
      await chown(join(data, 'a', 'b'), OTHER, OTHER);
      assert.notEqual(await digestNow(true), subfolderOwner, 'a subfolder owner');
    }

    await symlink('one.txt', join(data, 'a', 'link'));
    assert.equal(await digestNow(), undefined, 'a symlink: no digest');
    assert.equal(nodesDigest([{ name: 'l', type: 'symlink', mode: 0o777, mtime: '1' }]), undefined);
  });

  it('gives a folder holding a sparse file the same digest from its tree and its scan', async () => {
    const sparse = join(data, 'a', 'sparse.img');
    await writeFile(sparse, 'head');
    await truncate(sparse, 8 * 1024 * 1024);
    const root = await backup();
    const nodes = await repo.readTree((await nodeAt(root, join(data, 'a')))?.subtree ?? '');
    assert.equal(nodes.find((n) => n.name === 'sparse.img')?.sparse, true);
    const seen = await scanned();
    const folder = seen.take(join(data, 'a')) as SeenFolder;
    const now = summarizeSeen(join(data, 'a'), folder, createExcluder(EXCLUDE))?.digest;
    assert.equal(now, nodesDigest(nodes));
    // As a backup before hbr recorded sparseness stored it: the folder is walked, not taken.
    const older = nodes.map(({ sparse: _, ...node }): TreeNode => node);
    assert.notEqual(now, nodesDigest(older));
  });

  it('stores the trees a backup without it stores, through every kind of change', async () => {
    let memo = new FolderMemo();
    let parent = await backup(undefined, memo);
    assert.ok(memo.recorded.has(data) && memo.recorded.has(join(data, 'a', 'b', 'c')));
    const changes: [string, () => Promise<unknown>][] = [
      ['nothing', () => Promise.resolve()],
      ['a file deep down', () => writeFile(join(data, 'a', 'b', 'c', 'three.txt'), 'THREE\n')],
      ['a mode', () => chmod(join(data, 'a', 'b', 'two.txt'), 0o600)],
      ['an owner', () => chown(join(data, 'a', 'b', 'two.txt'), OTHER, OTHER)],
      ['a folder owner', () => chown(join(data, 'a', 'b', 'c'), OTHER, OTHER)],
      ['a new file', () => writeFile(join(data, 'a', 'b', 'c', 'new.txt'), 'new\n')],
      ['a removed file', () => rm(join(data, 'd', 'four.txt'))],
      ['a new folder', () => mkdir(join(data, 'a', 'e'))],
      ['a renamed folder', () => rename(join(data, 'a', 'b'), join(data, 'a', 'B'))],
      ['a removed folder', () => rm(join(data, 'd'), { recursive: true })],
      ['a symlink', () => symlink('top.txt', join(data, 'a', 'link'))],
      ['after a symlink', () => writeFile(join(data, 'a', 'one.txt'), 'ONE\n')],
      ['a folder mtime only', () => utimes(join(data, 'a', 'B', 'c'), 3000, 3000)],
      ['an excluded file', () => writeFile(join(data, 'a', 'B', 'c', 'z.tmp'), 'z')],
      ['a sparse file', () => truncate(join(data, 'a', 'B', 'two.txt'), 1024 * 1024)],
      ['nothing, after a sparse file', () => Promise.resolve()],
    ];
    for (const [what, change] of changes) {
      await change();
      const without = await dataTree(await backup(parent));
      memo = next(memo);
      parent = await backup(parent, memo);
      assert.equal(await dataTree(parent), without, what);
    }
    const three = await nodeAt(parent, join(data, 'a', 'B', 'c', 'three.txt'));
    assert.equal(three?.size, 'THREE\n'.length);
    const two = await nodeAt(parent, join(data, 'a', 'B', 'two.txt'));
    assert.deepEqual([two?.uid, two?.gid], [OTHER, OTHER]);
  });

  it('reads no tree of the parent when nothing changed, and only those above a change', async () => {
    const memo = new FolderMemo();
    const parent = await backup(undefined, memo);
    /** The backup, and how many trees it read. */
    const counted = async (
      memo?: FolderMemo,
      scan = true,
    ): Promise<{ tree: string; reads: number }> => {
      treeReads = 0;
      const tree = await backup(parent, memo, scan);
      return { tree, reads: treeReads };
    };
    // The backed-up folder's ancestors are read (a few): nothing below it.
    const ancestors = data.split(sep).filter(Boolean).length;
    const again = next(memo);
    const unchanged = await counted(again);
    assert.equal(unchanged.reads, ancestors);
    assert.equal(await dataTree(unchanged.tree), await dataTree(parent));
    // Folders the scan did not keep (it stops when the walk starts) are stat'ed by the walk.
    const unscanned = await counted(next(memo), false);
    assert.equal(unscanned.reads, ancestors);
    assert.equal(await dataTree(unscanned.tree), await dataTree(parent));

    await writeFile(join(data, 'a', 'b', 'c', 'three.txt'), 'THREE\n');
    const changed = await counted(next(again));
    // data, a, a/b and a/b/c hold the change and are read; d is not.
    assert.equal(changed.reads, ancestors + 4);
    const three = await nodeAt(changed.tree, join(data, 'a', 'b', 'c', 'three.txt'));
    assert.equal(three?.size, 'THREE\n'.length);
    assert.equal((await counted()).reads, ancestors + 5, 'without the memo, every folder');
  });

  it('loads only what it wrote after the parent backup, under this repository key', async () => {
    const memo = new FolderMemo();
    const first = await backup(undefined, memo);
    const file = join(dir.path, 'cache', 'memo');
    await memo.save(file, repo.keys, 'backup-1', ['index-1']);
    const loaded = await FolderMemo.load(file, repo.keys, 'backup-1');
    assert.deepEqual(loaded.lookup(data), memo.recorded.get(data));
    assert.equal(loaded.lookup(data)?.tree, await dataTree(first));
    assert.equal((await FolderMemo.load(file, repo.keys, 'backup-2')).lookup(data), undefined);
    const other = await initRepository(
      createLocalStore({ path: join(dir.path, 'other') }),
      { kind: 'password', password: 'pw' },
      { scryptParams: { N: 1024, r: 8, p: 1 } },
    );
    assert.equal((await FolderMemo.load(file, other.keys, 'backup-1')).lookup(data), undefined);
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    await writeFile(file, bytes);
    assert.equal((await FolderMemo.load(file, repo.keys, 'backup-1')).lookup(data), undefined);
    assert.equal(
      (await FolderMemo.load(`${file}-none`, repo.keys, 'backup-1')).lookup(data),
      undefined,
    );
  });

  it('is valid only while every index object its backup held is there: not after a repair or prune', async () => {
    const memo = new FolderMemo();
    await backup(undefined, memo);
    const file = join(dir.path, 'cache', 'memo');
    await memo.save(file, repo.keys, 'backup-1', ['index-2', 'index-1']);
    const loaded = await FolderMemo.load(file, repo.keys, 'backup-1');
    assert.ok(loaded.lookup(data));
    // Backups add index objects; repair and prune replace them all.
    assert.equal(loaded.validUnder(new Set(['index-1', 'index-2', 'index-3'])), true);
    assert.equal(loaded.validUnder(new Set(['index-2', 'index-3'])), false);
    assert.equal(loaded.validUnder(new Set()), false);
  });
});

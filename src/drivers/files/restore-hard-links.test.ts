import assert from 'node:assert/strict';
import { renameSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { link, lstat, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backUpFiles, nodeAt } from '../../../test/helpers/files-backup.ts';
import { pseudoRandomBytes, tempDir, textBytes } from '../../../test/helpers/temp.ts';
import {
  initRepository,
  startSession,
  type BackupRecord,
  type OpenRepository,
  type TreeNode,
} from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { createLinkGroups } from './hard-links.ts';
import { restoreFiles } from './restore.ts';

const password = { kind: 'password', password: 'pw' } as const;

describe('restoring files that were hard links of one file', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;
  let repo: OpenRepository;
  let backup: BackupRecord;
  const small = textBytes(5000, 3);
  // Large enough to be written past the page cache, not by a codec worker.
  const large = pseudoRandomBytes(3 * 1024 * 1024, 11);
  /** The links of the small file, and of the large one, below `data`. */
  const SMALL = [join('a', 'one'), join('a', 'two'), join('b', 'three')];
  const LARGE = [join('a', 'model.bin'), join('b', 'model-link.bin')];

  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    await mkdir(join(data, 'a'), { recursive: true });
    await mkdir(join(data, 'b'), { recursive: true });
    await writeFile(join(data, SMALL[0] as string), small);
    for (const path of SMALL.slice(1)) await link(join(data, SMALL[0] as string), join(data, path));
    await writeFile(join(data, LARGE[0] as string), large);
    await link(join(data, LARGE[0] as string), join(data, LARGE[1] as string));
    // The same content, but a file of its own.
    await writeFile(join(data, 'b', 'copy'), small);
    repo = await initRepository(createLocalStore({ path: join(dir.path, 'repo') }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    await backUpFiles(repo, { paths: [data], exclude: [] });
    backup = (await repo.backups()).at(-1) as BackupRecord;
  });
  after(async () => dir.remove());

  /** The inode and link count of each path below `root` + `data`, and its content. */
  const inodes = async (root: string, paths: readonly string[]) =>
    Promise.all(
      paths.map(async (path) => {
        const st = await stat(join(root, data, path));
        return { ino: st.ino, nlink: st.nlink, bytes: await readFile(join(root, data, path)) };
      }),
    );

  it('restores them as links of one file again, the large one too', async () => {
    const target = join(dir.path, 'fresh');
    const result = await restoreFiles({ repo, backup, target });
    assert.deepEqual(result.errors, []);
    assert.equal(result.files, 6);
    const smalls = await inodes(target, SMALL);
    assert.equal(new Set(smalls.map((s) => s.ino)).size, 1);
    assert.deepEqual(
      smalls.map((s) => s.nlink),
      [3, 3, 3],
    );
    assert.ok(smalls.every((s) => s.bytes.equals(small)));
    const larges = await inodes(target, LARGE);
    assert.equal(new Set(larges.map((s) => s.ino)).size, 1);
    assert.deepEqual(
      larges.map((s) => s.nlink),
      [2, 2],
    );
    assert.ok(larges.every((s) => s.bytes.equals(large)));
    // The file of the same content stays a file of its own.
    const copy = await stat(join(target, data, 'b', 'copy'));
    assert.equal(copy.nlink, 1);
    assert.notEqual(copy.ino, smalls[0]?.ino);
    assert.equal(result.hardLinks, 3);
    assert.equal(result.linksNotMade.count, 0);
  });

  it('links only the files restored when told which', async () => {
    const target = join(dir.path, 'one-link');
    const result = await restoreFiles({ repo, backup, target, include: [join(data, 'a', 'two')] });
    assert.deepEqual(result.errors, []);
    assert.equal(result.hardLinks, 0);
    const [two] = await inodes(target, [join('a', 'two')]);
    assert.equal(two?.nlink, 1);
    assert.ok(two?.bytes.equals(small));
    await assert.rejects(lstat(join(target, data, 'a', 'one')), { code: 'ENOENT' });

    const some = join(dir.path, 'two-links');
    const both = await restoreFiles({
      repo,
      backup,
      target: some,
      include: [join(data, 'a', 'two'), join(data, 'b')],
    });
    assert.deepEqual(both.errors, []);
    const linked = await inodes(some, [join('a', 'two'), join('b', 'three')]);
    assert.equal(linked[0]?.ino, linked[1]?.ino);
    assert.equal(linked[0]?.nlink, 2);
    // `b/model-link.bin` alone, its other link left out.
    const [model] = await inodes(some, [LARGE[1] as string]);
    assert.equal(model?.nlink, 1);
    assert.ok(model?.bytes.equals(large));
    assert.equal(both.hardLinks, 1);
  });

  it('replaces existing files with the links when told to overwrite, at once', async () => {
    const target = join(dir.path, 'over');
    await restoreFiles({ repo, backup, target });
    // What is there now: other content, each file its own, one a link of a file outside the
    // target, which must be replaced, not written through.
    const outside = join(dir.path, 'outside');
    await writeFile(outside, 'not to be touched');
    for (const path of [...SMALL, ...LARGE]) {
      await rm(join(target, data, path));
      await writeFile(join(target, data, path), `old ${path}`);
    }
    await rm(join(target, data, 'b', 'three'));
    await link(outside, join(target, data, 'b', 'three'));
    await assert.rejects(restoreFiles({ repo, backup, target }), /use --overwrite/);
    const result = await restoreFiles({ repo, backup, target, overwrite: true });
    assert.deepEqual(result.errors, []);
    const smalls = await inodes(target, SMALL);
    assert.equal(new Set(smalls.map((s) => s.ino)).size, 1);
    assert.equal(smalls[0]?.nlink, 3);
    assert.ok(smalls.every((s) => s.bytes.equals(small)));
    const larges = await inodes(target, LARGE);
    assert.equal(new Set(larges.map((s) => s.ino)).size, 1);
    assert.ok(larges.every((s) => s.bytes.equals(large)));
    assert.equal(await readFile(outside, 'utf8'), 'not to be touched');
    assert.equal((await stat(outside)).nlink, 1);
    assert.equal(result.hardLinks, 3);
  });

  it('restores a link from its content when the file it links could not be restored', async () => {
    const target = join(dir.path, 'leader-failed');
    await restoreFiles({ repo, backup, target, include: [join(data, 'b', 'copy')] });
    // A folder (not empty) where the first link goes: that file fails, even with --overwrite.
    await mkdir(join(target, data, 'a', 'one', 'in-the-way'), { recursive: true });
    const result = await restoreFiles({ repo, backup, target, overwrite: true });
    assert.deepEqual(
      result.errors.map((e) => e.path),
      [join(data, 'a', 'one')],
    );
    const [two, three] = await inodes(target, [join('a', 'two'), join('b', 'three')]);
    assert.ok(two?.bytes.equals(small));
    assert.ok(three?.bytes.equals(small));
    assert.equal(two?.nlink, 1);
    assert.equal(result.hardLinks, 1); // the large file's second link
  });
});

describe('restoring a link whose leader is reached through a folder swapped since', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;
  let repo: OpenRepository;
  let backup: BackupRecord;
  const small = textBytes(5000, 5);
  const large = pseudoRandomBytes(3 * 1024 * 1024, 13);

  // Leaders in `d`, their other links in `e`: as a user's folders a root restore writes into.
  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    await mkdir(join(data, 'd'), { recursive: true });
    await mkdir(join(data, 'e'), { recursive: true });
    await writeFile(join(data, 'd', 'small'), small);
    await link(join(data, 'd', 'small'), join(data, 'e', 'small'));
    await writeFile(join(data, 'd', 'large'), large);
    await link(join(data, 'd', 'large'), join(data, 'e', 'large'));
    repo = await initRepository(createLocalStore({ path: join(dir.path, 'repo') }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    await backUpFiles(repo, { paths: [data], exclude: [] });
    backup = (await repo.backups()).at(-1) as BackupRecord;
  });
  after(async () => dir.remove());

  it('restores the links from their content, never as links of the files it leads to', async () => {
    // Files of the restorer's, of the leaders' sizes, outside the target (a root secret).
    const outside = join(dir.path, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'small'), Buffer.alloc(small.length, 1));
    await writeFile(join(outside, 'large'), Buffer.alloc(large.length, 2));
    const target = join(dir.path, 'target');
    const d = join(target, data, 'd');
    // Once both leaders are restored (their links are made after every file), `d` becomes a
    // symbolic link to `outside`; it is put back once the links are done, as an attacker would.
    // Each once: a file being written reports progress too, its count of files unchanged.
    let swapped = 0;
    const onProgress = ({ files }: { files: number }) => {
      if (files >= 2 && swapped === 0) {
        swapped = 1;
        renameSync(d, `${d}.real`);
        symlinkSync(outside, d);
      } else if (files === 4 && swapped === 1) {
        swapped = 2;
        unlinkSync(d);
        renameSync(`${d}.real`, d);
      }
    };
    const result = await restoreFiles({ repo, backup, target, onProgress });
    assert.deepEqual(result.errors, []);
    for (const [name, content] of [
      ['small', small],
      ['large', large],
    ] as const) {
      const follower = join(target, data, 'e', name);
      assert.notEqual((await stat(follower)).ino, (await stat(join(outside, name))).ino);
      assert.equal((await stat(join(outside, name))).nlink, 1);
      assert.ok((await readFile(follower)).equals(content));
      assert.equal((await stat(follower)).nlink, 1);
    }
    assert.equal(result.hardLinks, 0);
    assert.equal(result.linksNotMade.count, 2);
    assert.deepEqual(result.linksNotMade.codes, ['not the file restored']);
  });
});

describe('restoring many links of one file', () => {
  let dir: { path: string; remove: () => Promise<void> };

  after(async () => dir?.remove());

  it('links them as the walk goes, not all at its end: what it holds of them stays bounded', async () => {
    dir = await tempDir();
    const data = join(dir.path, 'data');
    await mkdir(join(data, 'a'), { recursive: true });
    await mkdir(join(data, 'b'));
    // `a/0`, then 1,500 links of it (a window holds 1,024 files), then 1,100 files of their own.
    const leader = join(data, 'a', '0');
    await writeFile(leader, textBytes(3000, 5));
    for (let i = 0; i < 1500; i++)
      await link(leader, join(data, 'a', `l${String(i).padStart(4, '0')}`));
    for (let i = 0; i < 1100; i++) await writeFile(join(data, 'b', `f${i}`), `file ${i}\n`);
    const repo = await initRepository(
      createLocalStore({ path: join(dir.path, 'repo') }),
      password,
      { scryptParams: { N: 1024, r: 8, p: 1 } },
    );
    await backUpFiles(repo, { paths: [data], exclude: [] });
    const backup = (await repo.backups()).at(-1) as BackupRecord;

    const target = join(dir.path, 'target');
    const restoredLeader = join(target, leader);
    // Links of `a/0` already made when 1,025 files are restored: held to the end, all 1,100
    // files of `b` would come first (the restore held every link until then).
    let linksAt1025: number | undefined;
    const onProgress = ({ files }: { files: number }): void => {
      if (files < 1025 || linksAt1025 !== undefined) return;
      linksAt1025 = statSync(restoredLeader).nlink;
    };
    const result = await restoreFiles({ repo, backup, target, onProgress });
    assert.deepEqual(result.errors, []);
    assert.equal(result.files, 1 + 1500 + 1100);
    assert.equal(result.hardLinks, 1500);
    assert.ok((linksAt1025 ?? 0) >= 1025, `links of a/0 at 1,025 files: ${linksAt1025}`);
    const st = await stat(restoredLeader);
    assert.equal(st.nlink, 1501);
    assert.equal((await stat(join(target, data, 'a', 'l1499'))).ino, st.ino);
    assert.ok((await readFile(join(target, data, 'a', 'l0777'))).equals(textBytes(3000, 5)));
    assert.equal(await readFile(join(target, data, 'b', 'f1099'), 'utf8'), 'file 1099\n');
  });
});

describe('restoring files of one inode that were not one file', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let repo: OpenRepository;
  let backup: BackupRecord;
  let data: string;

  // As an inode freed and reused while a backup ran would record them: the inode of `one` (of
  // three links) given to `two`, as `one` (size, times, mode) but for its content, and to
  // `three`, as `one` but for its ctime.
  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'one'), 'the first file');
    await writeFile(join(data, 'two'), 'another file!!');
    await writeFile(join(data, 'three'), 'the first file');
    repo = await initRepository(createLocalStore({ path: join(dir.path, 'repo') }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    const tree = await backUpFiles(repo, { paths: [data], exclude: [] });
    const folder = (await nodeAt(repo, tree, data)) as TreeNode;
    const nodes = await repo.readTree(folder.subtree ?? '');
    const one = { ...(nodes.find((n) => n.name === 'one') as TreeNode), links: 3 };
    const reused = nodes.map((n): TreeNode => {
      if (n.name === 'one') return one;
      const of = { inode: one.inode, links: 3, mtime: one.mtime };
      if (n.name === 'two') return { ...n, ...of, ctime: one.ctime, mode: one.mode };
      if (n.name === 'three') return { ...n, ...of, ctime: `${BigInt(one.ctime ?? 0) + 1n}` };
      return n;
    });
    const session = await startSession(repo);
    backup = await session.commitTree(
      await session.saveTree([
        { ...folder, name: 'data', subtree: await session.saveTree(reused) },
      ]),
      { source: 'files', kind: 'files', type: 'snapshot', startedAt: new Date() },
      { files: 3, bytes: 42 },
    );
  });
  after(async () => dir.remove());

  it('restores each as a file of its own, with its own content', async () => {
    const target = join(dir.path, 'target');
    const result = await restoreFiles({ repo, backup, target });
    assert.deepEqual(result.errors, []);
    const at = (name: string) => join(target, 'data', name);
    assert.equal(await readFile(at('one'), 'utf8'), 'the first file');
    assert.equal(await readFile(at('two'), 'utf8'), 'another file!!');
    assert.equal(await readFile(at('three'), 'utf8'), 'the first file');
    const inos = await Promise.all(
      ['one', 'two', 'three'].map(async (n) => (await stat(at(n))).ino),
    );
    assert.equal(new Set(inos).size, 3);
    assert.equal(result.hardLinks, 0);
  });
});

describe('the link groups of a restore', () => {
  const file = (path: string, inode: string, links?: number) => ({
    path,
    node: {
      name: path.slice(1),
      type: 'file' as const,
      mode: 0o644,
      mtime: '1',
      ctime: '2',
      size: 4,
      inode,
      content: [],
      ...(links === undefined ? {} : { links }),
    },
  });

  it('keep nothing of files without links, those of a backup made before counts were kept too', () => {
    const groups = createLinkGroups();
    for (let i = 0; i < 1000; i++) assert.equal(groups.hold(file(`/f${i}`, `1:${i}`)), false);
    // Of one inode, as an older backup recorded two links of one file: restored as two files.
    assert.equal(groups.hold(file('/old-1', '1:5000')), false);
    assert.equal(groups.hold(file('/old-2', '1:5000')), false);
    assert.equal(groups.leaders, 0);
    assert.deepEqual(groups.followers, []);
  });

  it('keep a file of more than one link until its other links were met', () => {
    const groups = createLinkGroups();
    assert.equal(groups.hold(file('/a', '1:1', 3)), false);
    assert.equal(groups.leaders, 1);
    assert.equal(groups.hold(file('/b', '1:1', 3)), true);
    assert.equal(groups.leaders, 1);
    assert.equal(groups.hold(file('/c', '1:1', 3)), true);
    assert.equal(groups.leaders, 0);
    assert.deepEqual(
      groups.followers.map((f) => [f.path, f.leader]),
      [
        ['/b', '/a'],
        ['/c', '/a'],
      ],
    );
    // The links keep no node of their own (a large file's is thousands of blob ids): the first's.
    const [b, c] = groups.followers;
    assert.ok(b && c && b.node === c.node && b.node.name === 'a');
  });

  it('hand over what they hold, and the files whose links were all met, once', () => {
    const groups = createLinkGroups();
    groups.hold(file('/a', '1:1', 3));
    groups.hold(file('/b', '1:1', 3));
    groups.hold(file('/x', '1:2', 2));
    assert.deepEqual(
      groups.take().followers.map((f) => f.path),
      ['/b'],
    );
    assert.deepEqual(groups.followers, []);
    groups.hold(file('/c', '1:1', 3));
    const taken = groups.take();
    assert.deepEqual(
      taken.followers.map((f) => [f.path, f.leader]),
      [['/c', '/a']],
    );
    // `/a` has all its links now; `/x` may still meet its other one.
    assert.deepEqual(taken.complete, ['/a']);
    assert.deepEqual(groups.take(), { followers: [], complete: [] });
  });

  it('link the files of an inode reused while the backup ran, in whatever order met', () => {
    const groups = createLinkGroups();
    // `1:5` held A (links A1, A2), then, freed, B (links B1, B2): met as A1 B1 A2 B2.
    const of = (path: string, ctime: string, content: string) => {
      const entry = file(path, '1:5', 2);
      return { path, node: { ...entry.node, ctime, content: [content] } };
    };
    assert.equal(groups.hold(of('/A1', '10', 'aa')), false);
    assert.equal(groups.hold(of('/B1', '20', 'bb')), false);
    assert.equal(groups.hold(of('/A2', '10', 'aa')), true);
    assert.equal(groups.hold(of('/B2', '20', 'bb')), true);
    assert.deepEqual(
      groups.followers.map((f) => [f.path, f.leader]),
      [
        ['/A2', '/A1'],
        ['/B2', '/B1'],
      ],
    );
    assert.equal(groups.leaders, 0);
  });
});

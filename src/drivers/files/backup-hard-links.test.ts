import assert from 'node:assert/strict';
import { link, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeAt } from '../../../test/helpers/files-backup.ts';
import { pseudoRandomBytes, tempDir } from '../../../test/helpers/temp.ts';
import {
  initRepository,
  startSession,
  type OpenRepository,
  type RepositorySession,
  type TreeNode,
} from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { backupFiles, type FilesBackupOptions } from './backup.ts';
import { listTree } from './browse.ts';
import { FolderMemo, nodesDigest, type MemoFolder } from './folder-memo.ts';
import { scanFiles } from './scan.ts';
import { SeenFolders } from './seen-folders.ts';

const password = { kind: 'password', password: 'pw' } as const;
const size = 3 * 1024 * 1024;
/** Links of one large file, and a file of its own of the same size, below `data`. */
const LINKS = [join('a', 'model.bin'), join('a', 'model-2.bin'), join('b', 'model-3.bin')];
const OTHER = join('b', 'other.bin');

describe('backing up hard links', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;
  let repo: OpenRepository;

  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    await mkdir(join(data, 'a'), { recursive: true });
    await mkdir(join(data, 'b'), { recursive: true });
    await writeFile(join(data, LINKS[0] as string), pseudoRandomBytes(size, 3));
    for (const path of LINKS.slice(1)) await link(join(data, LINKS[0] as string), join(data, path));
    await writeFile(join(data, OTHER), pseudoRandomBytes(size, 4));
    repo = await initRepository(createLocalStore({ path: join(dir.path, 'repo') }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
  });
  after(async () => dir.remove());

  /** A backup of `data` as the command runs it (scan first), committed. */
  const backup = async (options: Partial<FilesBackupOptions> = {}) => {
    const seen = new SeenFolders();
    await scanFiles([data], [], () => undefined, undefined, seen);
    seen.close();
    const session = await startSession(repo);
    const result = await backupFiles({ repo, session, paths: [data], seen, ...options });
    assert.deepEqual(result.errors, []);
    await session.commitTree(
      result.tree,
      { source: 'files', kind: 'files', type: 'snapshot', startedAt: new Date() },
      { files: result.stats.files, bytes: result.stats.bytes },
    );
    return result;
  };
  const nodesOf = (tree: string, paths: readonly string[]) =>
    Promise.all(
      paths.map(async (path) => (await nodeAt(repo, tree, join(data, path))) as TreeNode),
    );

  it('reads a large file once, gives every link its content, and records the link count', async () => {
    const { tree, stats } = await backup();
    assert.equal(stats.files, 4);
    assert.equal(stats.newFiles, 4);
    assert.equal(stats.bytes, 4 * size);
    assert.equal(stats.bytesRead, 2 * size);
    const [first, ...links] = await nodesOf(tree, LINKS);
    assert.ok(first?.content && first.content.length > 1);
    assert.equal(first.links, 3);
    for (const node of links) {
      assert.deepEqual(node.content, first.content);
      assert.equal(node.inode, first.inode);
      assert.equal(node.ctime, first.ctime);
      assert.equal(node.links, 3);
    }
    // A file without links: no count in its node, so its tree is as before counts were kept.
    const [other] = await nodesOf(tree, [OTHER]);
    assert.ok(other?.content);
    assert.equal('links' in other, false);
    // `hbr ls` (--json) shows the count of linked files only.
    const listed = await listTree(repo, tree, data);
    const countOf = (path: string) => listed.find((n) => n.path === join(data, path))?.links;
    assert.deepEqual([...LINKS, OTHER].map(countOf), [3, 3, 3, undefined]);
  });

  for (const withMemo of [false, true]) {
    it(`gives the links of a backup made before counts were kept their count, unread${withMemo ? ', from the folder memo' : ''}`, async () => {
      const first = await backup();
      // That backup as an older hbr stored it: no `links`; and the memo it wrote, if any.
      const session = await startSession(repo);
      const folders = new Map<string, MemoFolder>();
      const strip = async (tree: string, path: string): Promise<string> => {
        const nodes = await Promise.all(
          (await repo.readTree(tree)).map(async (node): Promise<TreeNode> => {
            const { links: _links, ...rest } = node;
            if (node.type !== 'dir' || !node.subtree) return rest;
            return { ...rest, subtree: await strip(node.subtree, join(path, node.name)) };
          }),
        );
        const id = await session.saveTree(nodes);
        const digest = nodesDigest(nodes);
        folders.set(path, digest === undefined ? { tree: id } : { tree: id, digest });
        return id;
      };
      const old = await strip(first.tree, '/');
      await _commit(session, old);
      assert.equal((await nodesOf(old, LINKS))[0]?.links, undefined);

      const { tree, stats } = await backup({
        parentTree: old,
        ...(withMemo ? { memo: new FolderMemo(folders) } : {}),
      });
      assert.equal(stats.bytesRead, 0);
      assert.equal(stats.unchangedFiles, 4);
      const before = await nodesOf(first.tree, [...LINKS, OTHER]);
      const now = await nodesOf(tree, [...LINKS, OTHER]);
      assert.deepEqual(now, before);
      assert.deepEqual(
        now.map((n) => n.links),
        [3, 3, 3, undefined],
      );
    });
  }
});

async function _commit(session: RepositorySession, tree: string): Promise<void> {
  await session.commitTree(
    tree,
    { source: 'files', kind: 'files', type: 'snapshot', startedAt: new Date() },
    { files: 4, bytes: 4 * size },
  );
}

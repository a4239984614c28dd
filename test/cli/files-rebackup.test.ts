import assert from 'node:assert/strict';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRepository, type TreeNode } from '../../src/repository/index.ts';
import { createLocalStore } from '../../src/stores/index.ts';
import { hbr, summaryOf } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

// A re-backup reuses the parent's tree for folders where nothing changed; these check that any
// change deep down still reaches the new backup.
describe('re-backing up a file tree', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]) => hbr(args, { env, cwd: dir.path });
  const backup = async (): Promise<string> => {
    const result = await run('backup', 'data', '--json');
    assert.equal(result.code, 0, result.stderr);
    return String(summaryOf(result).shortId);
  };
  const treeOf = async (shortId: string): Promise<string> => {
    const list = JSON.parse((await run('backups', '--json')).stdout) as {
      shortId: string;
      tree: string;
    }[];
    const found = list.find((b) => b.shortId === shortId);
    assert.ok(found, `backup ${shortId} listed`);
    return found.tree;
  };

  /** The tree id of the backed-up `data` folder, found down the backup's root tree. */
  const folderTreeOf = async (shortId: string): Promise<string | undefined> => {
    const store = createLocalStore({ path: join(dir.path, 'repo') });
    const repo = await openRepository(store, { kind: 'password', password: 'secret words' });
    let tree: string | undefined = await treeOf(shortId);
    for (const name of join(dir.path, 'data').split(sep).filter(Boolean)) {
      const nodes: TreeNode[] = tree ? await repo.readTree(tree) : [];
      tree = nodes.find((node) => node.name === name)?.subtree;
    }
    return tree;
  };

  before(async () => {
    dir = await tempDir();
    env = { HBR_REPOSITORY: join(dir.path, 'repo'), HBR_PASSWORD: 'secret words' };
    await mkdir(join(dir.path, 'data', 'a', 'b', 'c'), { recursive: true });
    await writeFile(join(dir.path, 'data', 'a', 'b', 'c', 'deep.txt'), 'deep\n');
    await writeFile(join(dir.path, 'data', 'a', 'b', 'other.txt'), 'other\n');
    await writeFile(join(dir.path, 'data', 'top.txt'), 'top\n');
    assert.equal((await run('init')).code, 0);
  });
  after(async () => dir.remove());

  it('stores the same tree again when nothing changed', async () => {
    const first = await backup();
    const second = await backup();
    assert.notEqual(first, second);
    const diff = await run('diff', first, second);
    assert.equal(diff.code, 0, diff.stderr);
    assert.doesNotMatch(diff.stdout, /^[-+MTU] {2}/m, 'nothing in the folder changed');
    // The backed-up folder's ancestors are in the root tree too, and other processes change the
    // temp folder's time: the folder's own tree is what must be the same.
    const folder = await folderTreeOf(first);
    assert.match(folder ?? '', /^[0-9a-f]{64}$/);
    assert.equal(await folderTreeOf(second), folder);
  });

  it('records a permission change deep in the tree', async () => {
    const before = await backup();
    await chmod(join(dir.path, 'data', 'a', 'b', 'c', 'deep.txt'), 0o600);
    const after = await backup();
    assert.notEqual(await treeOf(after), await treeOf(before));
    const diff = await run('diff', before, after);
    assert.match(diff.stdout, /^U {2}.*deep\.txt$/m);
  });

  it('records a file removed deep in the tree', async () => {
    const before = await backup();
    await rm(join(dir.path, 'data', 'a', 'b', 'other.txt'));
    const after = await backup();
    const diff = await run('diff', before, after);
    assert.match(diff.stdout, /^- {2}.*other\.txt$/m);
    const listing = await run('ls', after);
    assert.doesNotMatch(listing.stdout, /other\.txt/);
    assert.match(listing.stdout, /deep\.txt/);
  });
});

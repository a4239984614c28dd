import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeAt } from '../../../test/helpers/files-backup.ts';
import { tempDir } from '../../../test/helpers/temp.ts';
import {
  initRepository,
  startSession,
  type OpenRepository,
  type TreeNode,
} from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { backupFiles } from './backup.ts';

const password = { kind: 'password', password: 'pw' } as const;

const meta = { source: 'files', kind: 'files', type: 'snapshot', startedAt: new Date() } as const;

describe('backing up with a parent whose folder holds a name twice', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let repo: OpenRepository;
  let data: string;
  let parent: string;
  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    await mkdir(join(data, 'sub'), { recursive: true });
    for (const name of ['one', 'two', 'other']) await writeFile(join(data, name), name);
    await writeFile(join(data, 'sub', 'deep'), 'deep');
    repo = await initRepository(createLocalStore({ path: join(dir.path, 'repo') }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    const firstSession = await startSession(repo);
    const first = await backupFiles({ repo, session: firstSession, paths: [data] });
    await firstSession.commitTree(first.tree, meta, { files: 4, bytes: 15 });
    const session = await startSession(repo);
    // As older backups could record two names that were not UTF-8 (both read as `one`): `data`
    // with its `two` renamed `one`, the trees above it saved anew.
    const rewrite = async (tree: string, names: readonly string[]): Promise<string> => {
      const [head, ...rest] = names;
      const nodes = (await repo.readTree(tree)).map(async (n): Promise<TreeNode> =>
        head === undefined
          ? n.name === 'two'
            ? { ...n, name: 'one' }
            : n
          : n.name === head
            ? { ...n, subtree: await rewrite(n.subtree ?? '', rest) }
            : n,
      );
      return session.saveTree(await Promise.all(nodes));
    };
    parent = await rewrite(first.tree, data.split(sep).filter(Boolean));
    await session.commitTree(parent, meta, { files: 4, bytes: 15 });
  });
  after(async () => dir.remove());

  it('backs up the whole folder, the names held twice read again', async () => {
    const session = await startSession(repo);
    const { tree, errors, stats } = await backupFiles({
      repo,
      session,
      paths: [data],
      parentTree: parent,
    });
    assert.deepEqual(errors, []);
    // Committed, so its trees are indexed for reading back.
    await session.commitTree(tree, meta, { files: 4, bytes: 15 });
    for (const name of ['one', 'two', 'other', join('sub', 'deep')])
      assert.ok(await nodeAt(repo, tree, join(data, name)), name);
    // `one` and `two` have no parent node to compare with (both were `one`), and are read again;
    // `other` and `sub/deep` are unchanged.
    assert.equal(stats.unchangedFiles, 2);
    assert.equal(stats.newFiles, 2);
  });
});

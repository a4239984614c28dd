import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backUpFiles, nodeAt } from '../../../test/helpers/files-backup.ts';
import { tempDir } from '../../../test/helpers/temp.ts';
import {
  initRepository,
  startSession,
  type BackupRecord,
  type OpenRepository,
  type TreeNode,
} from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { listTree } from './browse.ts';
import { restoreFiles } from './restore.ts';

const password = { kind: 'password', password: 'pw' } as const;

describe('restoring a folder whose tree holds a name twice', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let repo: OpenRepository;
  let backup: BackupRecord;
  before(async () => {
    dir = await tempDir();
    const data = join(dir.path, 'data');
    await mkdir(join(data, 'sub'), { recursive: true });
    for (const name of ['one', 'two', 'other']) await writeFile(join(data, name), name);
    await writeFile(join(data, 'sub', 'deep'), 'deep');
    repo = await initRepository(createLocalStore({ path: join(dir.path, 'repo') }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    const tree = await backUpFiles(repo, { paths: [data], exclude: [] });
    // As older backups could record two names that were not UTF-8 (both read as `one`): the
    // folder `data`, its `two` renamed `one`, in a backup of it alone (as `/data`).
    const folder = (await nodeAt(repo, tree, data)) as TreeNode;
    const nodes = (await repo.readTree(folder.subtree ?? '')).map((n): TreeNode =>
      n.name === 'two' ? { ...n, name: 'one' } : n,
    );
    const session = await startSession(repo);
    const subtree = await session.saveTree(nodes);
    backup = await session.commitTree(
      await session.saveTree([{ ...folder, name: 'data', subtree }]),
      { source: 'files', kind: 'files', type: 'snapshot', startedAt: new Date() },
      { files: 4, bytes: 12 },
    );
  });
  after(async () => dir.remove());

  it('restores the rest of the folder, and reports the name', async () => {
    const target = join(dir.path, 'target');
    const result = await restoreFiles({ repo, backup, target });
    assert.deepEqual(
      result.errors.map((e) => e.path),
      ['/data/one'],
    );
    assert.match(result.errors[0]?.message ?? '', /twice/);
    assert.deepEqual((await readdir(join(target, 'data'))).sort(), ['other', 'sub']);
    assert.equal(await readFile(join(target, 'data', 'other'), 'utf8'), 'other');
    assert.equal(await readFile(join(target, 'data', 'sub', 'deep'), 'utf8'), 'deep');
    assert.equal(result.files, 2);
  });

  it('is refused by a listing, which has no way to report the name', async () => {
    // The folder's tree read ahead of the listing (while it takes the root's): decoded then, the
    // name held twice is told when the listing takes it.
    await assert.rejects(listTree(repo, backup.tree), /tree [0-9a-f]{64}: the name "one" twice/);
  });

  it('takes an include of that name as in the backup, not as missing', async () => {
    const target = join(dir.path, 'included');
    const include = ['/data/one', '/data/other'];
    const result = await restoreFiles({ repo, backup, target, include });
    assert.deepEqual(
      result.errors.map((e) => e.path),
      ['/data/one'],
    );
    assert.deepEqual(await readdir(join(target, 'data')), ['other']);
  });
});

import assert from 'node:assert/strict';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backUpFiles } from '../../../test/helpers/files-backup.ts';
import { tempDir } from '../../../test/helpers/temp.ts';
import { initRepository, type OpenRepository } from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { diffTrees, listTree } from './browse.ts';

const password = { kind: 'password', password: 'pw' } as const;
const isRoot = process.geteuid?.() === 0;
const NOBODY = 65534;

describe('owners in ls and diff', { skip: !isRoot && 'needs root (to change owners)' }, () => {
  let dir: { path: string; remove: () => Promise<void> };
  let repo: OpenRepository;
  let data: string;
  let first: string;
  let second: string;
  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    await mkdir(join(data, 'sub'), { recursive: true });
    await writeFile(join(data, 'sub', 'f.txt'), 'same content');
    repo = await initRepository(createLocalStore({ path: join(dir.path, 'repo') }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    first = await backUpFiles(repo, { paths: [data] });
    // Only owners change: the file's, and the folder's group.
    await chown(join(data, 'sub', 'f.txt'), NOBODY, NOBODY);
    await chown(join(data, 'sub'), 0, NOBODY);
    second = await backUpFiles(repo, { paths: [data] });
  });
  after(async () => dir.remove());

  it('shows an entry whose owner or group changed as U', async () => {
    assert.deepEqual(await diffTrees(repo, first, second, [data]), [
      { path: join(data, 'sub'), change: 'U', changed: ['owner'] },
      { path: join(data, 'sub', 'f.txt'), change: 'U', changed: ['owner'] },
    ]);
  });

  it('lists the owner and group recorded', async () => {
    const nodes = await listTree(repo, second, join(data, 'sub'));
    assert.deepEqual(
      nodes.map((n) => [n.path, n.uid, n.gid]),
      [
        [join(data, 'sub'), 0, NOBODY],
        [join(data, 'sub', 'f.txt'), NOBODY, NOBODY],
      ],
    );
  });
});

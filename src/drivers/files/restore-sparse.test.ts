import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backUpFiles, nodeAt } from '../../../test/helpers/files-backup.ts';
import { pseudoRandomBytes, tempDir } from '../../../test/helpers/temp.ts';
import {
  initRepository,
  startSession,
  type BackupRecord,
  type OpenRepository,
  type TreeNode,
} from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { backupFiles } from './backup.ts';
import { restoreFiles } from './restore.ts';

const MiB = 1024 * 1024;

/** A file of `size` bytes holding `parts` (offset, length) of data and holes between. */
async function sparseFile(
  path: string,
  size: number,
  parts: readonly [number, number][],
): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    for (const [i, [at, length]] of parts.entries())
      await handle.write(pseudoRandomBytes(length, i + 1), 0, length, at);
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
}

const sha256 = async (path: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

/** Bytes the file system allocated to the file. */
const allocated = async (path: string): Promise<number> => (await stat(path)).blocks * 512;

describe('a sparse file backed up and restored', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;
  let repo: OpenRepository;
  let backup: BackupRecord;
  let tree: string;
  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    await mkdir(data);
    // Data at its start, middle and end, holes between.
    await sparseFile(join(data, 'disk.img'), 64 * MiB, [
      [0, 2 * MiB],
      [31 * MiB, 2 * MiB],
      [62 * MiB, 2 * MiB],
    ]);
    // Its last 24 MiB a hole.
    await sparseFile(join(data, 'trimmed.img'), 64 * MiB, [
      [0, 3 * MiB],
      [20 * MiB + 100, 3 * MiB],
    ]);
    // Sparse files of one blob each: the largest chunk is 8 MiB, and a small file is one blob.
    // Data only before the chunker's least chunk (256 KiB), where no cut can fall: random bytes
    // past it end a chunk where the repository's random chunker key says (4 KiB at 5 MiB: one run
    // in 64, with the loose mask of 18 bits).
    await sparseFile(join(data, 'small.img'), 6 * MiB, [
      [0, 4096],
      [128 * 1024, 4096],
    ]);
    await sparseFile(join(data, 'tiny.img'), 900 * 1024, [[1000, 100]]);
    // Zeros written out, as a database preallocates its log: allocated, and must stay so.
    await writeFile(join(data, 'prealloc.log'), Buffer.alloc(16 * MiB));
    repo = await initRepository(createLocalStore({ path: join(dir.path, 'repo') }), {
      kind: 'password',
      password: 'pw',
    });
    tree = await backUpFiles(repo, { paths: [data], exclude: [] });
    backup = (await repo.backups()).at(-1) as BackupRecord;
  });
  after(async () => dir.remove());

  it('records which files had holes', async () => {
    assert.equal((await nodeAt(repo, tree, join(data, 'disk.img')))?.sparse, true);
    assert.equal((await nodeAt(repo, tree, join(data, 'trimmed.img')))?.sparse, true);
    const small = await nodeAt(repo, tree, join(data, 'small.img'));
    const tiny = await nodeAt(repo, tree, join(data, 'tiny.img'));
    assert.deepEqual([small?.sparse, small?.content?.length], [true, 1]);
    assert.deepEqual([tiny?.sparse, tiny?.content?.length], [true, 1]);
    assert.equal((await nodeAt(repo, tree, join(data, 'prealloc.log')))?.sparse, undefined);
  });

  it('gives back holes, the same bytes and the full size', async () => {
    const target = join(dir.path, 'target');
    const result = await restoreFiles({ repo, backup, target });
    assert.deepEqual(result.errors, []);
    for (const name of ['disk.img', 'trimmed.img']) {
      const path = join(target, data, name);
      assert.equal((await stat(path)).size, 64 * MiB, name);
      assert.equal(await sha256(path), await sha256(join(data, name)), name);
      const bytes = await allocated(path);
      assert.ok(bytes < 16 * MiB, `${name}: ${bytes} bytes allocated`);
    }
    // Files of one blob too, which the codec workers would write whole.
    for (const [name, size] of [
      ['small.img', 6 * MiB],
      ['tiny.img', 900 * 1024],
    ] as const) {
      const path = join(target, data, name);
      assert.equal((await stat(path)).size, size, name);
      assert.equal(await sha256(path), await sha256(join(data, name)), name);
      const bytes = await allocated(path);
      assert.ok(bytes <= 64 * 1024, `${name}: ${bytes} bytes allocated`);
    }
  });

  it('gives back holes over an existing file with --overwrite', async () => {
    const target = join(dir.path, 'over');
    const path = join(target, data, 'disk.img');
    await mkdir(join(target, data), { recursive: true });
    await writeFile(path, pseudoRandomBytes(64 * MiB, 9));
    const result = await restoreFiles({ repo, backup, target, overwrite: true });
    assert.deepEqual(result.errors, []);
    assert.equal(await sha256(path), await sha256(join(data, 'disk.img')));
    assert.ok((await allocated(path)) < 16 * MiB);
  });

  it('writes a file of zeros that was not sparse in full', async () => {
    const target = join(dir.path, 'zeros');
    const result = await restoreFiles({ repo, backup, target });
    assert.deepEqual(result.errors, []);
    const path = join(target, data, 'prealloc.log');
    assert.equal(await sha256(path), await sha256(join(data, 'prealloc.log')));
    assert.ok((await allocated(path)) >= 16 * MiB);
  });

  it('records a file unchanged since a backup that did not record holes, without reading it', async () => {
    // The backup as hbr stored it before it recorded sparseness: its nodes without `sparse`.
    let session = await startSession(repo);
    const older = await _withoutSparse(repo, session, tree);
    await session.commitTree(
      older,
      { source: 'files', kind: 'files', type: 'snapshot', startedAt: new Date() },
      { files: 3, bytes: 0 },
    );
    await repo.index({ reload: true });
    assert.equal((await nodeAt(repo, older, join(data, 'disk.img')))?.sparse, undefined);
    session = await startSession(repo);
    const { tree: again, stats } = await backupFiles({
      session,
      repo,
      paths: [data],
      parentTree: older,
    });
    await session.commitTree(
      again,
      { source: 'files', kind: 'files', type: 'snapshot', startedAt: new Date() },
      { files: stats.files, bytes: stats.bytes },
    );
    await repo.index({ reload: true });
    assert.deepEqual([stats.bytesRead, stats.unchangedFiles], [0, 5]);
    assert.equal((await nodeAt(repo, again, join(data, 'disk.img')))?.sparse, true);
    assert.equal((await nodeAt(repo, again, join(data, 'prealloc.log')))?.sparse, undefined);
  });
});

/** The tree `tree`, saved again with no node recording sparseness. */
async function _withoutSparse(
  repo: OpenRepository,
  session: Awaited<ReturnType<typeof startSession>>,
  tree: string,
): Promise<string> {
  const nodes = await Promise.all(
    (await repo.readTree(tree)).map(async ({ sparse: _, ...node }): Promise<TreeNode> =>
      node.subtree ? { ...node, subtree: await _withoutSparse(repo, session, node.subtree) } : node,
    ),
  );
  return session.saveTree(nodes);
}

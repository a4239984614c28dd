import assert from 'node:assert/strict';
import { link, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nodeAt } from '../../../test/helpers/files-backup.ts';
import { pseudoRandomBytes, tempDir } from '../../../test/helpers/temp.ts';
import { initRepository, startSession } from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import { backupFiles } from './backup.ts';

const password = { kind: 'password', password: 'pw' } as const;

describe('backing up hard links of a large file', () => {
  it('reads the file once, and gives every link its content', async () => {
    const dir = await tempDir();
    try {
      const data = join(dir.path, 'data');
      const size = 3 * 1024 * 1024;
      await mkdir(join(data, 'a'), { recursive: true });
      await mkdir(join(data, 'b'), { recursive: true });
      await writeFile(join(data, 'a', 'model.bin'), pseudoRandomBytes(size, 3));
      await link(join(data, 'a', 'model.bin'), join(data, 'a', 'model-2.bin'));
      await link(join(data, 'a', 'model.bin'), join(data, 'b', 'model-3.bin'));
      // Of the same size, a file of its own: read.
      await writeFile(join(data, 'b', 'other.bin'), pseudoRandomBytes(size, 4));
      const repo = await initRepository(
        createLocalStore({ path: join(dir.path, 'repo') }),
        password,
        {
          scryptParams: { N: 1024, r: 8, p: 1 },
        },
      );
      const session = await startSession(repo);
      const { tree, stats, errors } = await backupFiles({ repo, session, paths: [data] });
      assert.deepEqual(errors, []);
      await session.commitTree(
        tree,
        { source: 'files', kind: 'files', type: 'snapshot', startedAt: new Date() },
        { files: stats.files, bytes: stats.bytes },
      );
      assert.equal(stats.files, 4);
      assert.equal(stats.newFiles, 4);
      assert.equal(stats.bytes, 4 * size);
      assert.equal(stats.bytesRead, 2 * size);
      const nodes = await Promise.all(
        [join('a', 'model.bin'), join('a', 'model-2.bin'), join('b', 'model-3.bin')].map(
          async (path) => nodeAt(repo, tree, join(data, path)),
        ),
      );
      const [first, ...links] = nodes;
      assert.ok(first?.content && first.content.length > 1);
      for (const node of links) {
        assert.deepEqual(node?.content, first.content);
        assert.equal(node?.inode, first.inode);
        assert.equal(node?.ctime, first.ctime);
      }
    } finally {
      await dir.remove();
    }
  });
});

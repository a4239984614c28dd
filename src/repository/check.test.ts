import assert from 'node:assert/strict';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/temp.ts';
import { createLocalStore } from '../stores/local.ts';
import { artifactRepository } from './artifacts.ts';
import { createBlobSaver } from './blob-saver.ts';
import { checkRepository } from './check.ts';
import { createMasterIndex } from './master-index.ts';
import { initRepository, openRepository } from './repository.ts';

const password = { kind: 'password', password: 'pw' } as const;
const fast = { scryptParams: { N: 1024, r: 8, p: 1 } };

/** A new repository in `path`, and a saver storing blobs into it in packs of `packSize`. */
async function blobsOnly(path: string, packSize: number) {
  const repo = await initRepository(createLocalStore({ path }), password, fast);
  const saver = createBlobSaver({
    store: repo.store,
    keys: repo.keys,
    index: createMasterIndex(),
    packSize,
    compression: { level: 1 },
  });
  return { repo, saver };
}

describe('check', () => {
  it('reads every backup while one index object is damaged, and names that one', async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(createLocalStore({ path: dir.path }), password, fast);
      const data = Buffer.from('kept whole');
      const session = await artifactRepository(repo).startBackup();
      await session.addArtifact('a.txt', Readable.from([data]));
      const backup = await session.commit({
        source: 's',
        kind: 'test',
        type: 'full',
        startedAt: new Date(),
      });
      // A stray object among the index objects: not an index, not named by its hash.
      await writeFile(join(dir.path, 'index', 'README'), 'hi');
      const opened = await openRepository(repo.store, password);
      const back = await buffer(artifactRepository(opened).openArtifact(backup.id, 'a.txt'));
      assert.ok(back.equals(data));
      const report = await checkRepository(opened);
      assert.deepEqual(
        report.problems.map((p) => p.kind),
        ['damaged-index'],
      );
      assert.deepEqual(report.affected, []);
    } finally {
      await dir.remove();
    }
  });

  it('checks a pack of more blobs than a function call takes arguments', async () => {
    const dir = await tempDir();
    try {
      // 140,000 blobs of 4 bytes: one 16 MiB pack (each costs its bytes, its encoding's
      // overhead and 41 bytes of header).
      const { repo, saver } = await blobsOnly(dir.path, 16 * 1024 * 1024);
      const blobs = 140_000;
      for (let i = 0; i < blobs; i++) {
        const bytes = Buffer.alloc(4);
        bytes.writeUInt32LE(i);
        await saver.save('data', bytes);
      }
      await saver.flush();
      const report = await checkRepository(await openRepository(repo.store, password));
      assert.deepEqual(report.problems, []);
      assert.equal(report.stats.blobs, blobs);
      assert.equal(report.stats.packs, 1);
    } finally {
      await dir.remove();
    }
  });

  it('finds a pack that is not where its name says, and reports it misplaced', async () => {
    const dir = await tempDir();
    try {
      const { repo, saver } = await blobsOnly(dir.path, 1024 * 1024);
      await saver.save('data', Buffer.from('a blob'));
      await saver.flush();
      const [folder] = await readdir(join(dir.path, 'data'));
      assert.ok(folder);
      const [pack] = await readdir(join(dir.path, 'data', folder));
      assert.ok(pack);
      const elsewhere = folder === 'ff' ? 'fe' : 'ff';
      await mkdir(join(dir.path, 'data', elsewhere));
      await rename(join(dir.path, 'data', folder, pack), join(dir.path, 'data', elsewhere, pack));
      const report = await checkRepository(await openRepository(repo.store, password));
      assert.equal(report.ok, false);
      assert.deepEqual(report.problems.map((p) => [p.kind, p.severity]).sort(), [
        ['misplaced-object', 'warning'],
        ['missing-pack', 'error'],
      ]);
    } finally {
      await dir.remove();
    }
  });

  it('reports an object under data/ whose name is no pack id as a stray, not as a pack', async () => {
    const dir = await tempDir();
    try {
      const { repo, saver } = await blobsOnly(dir.path, 1024 * 1024);
      await saver.save('data', Buffer.from('a blob'));
      await saver.flush();
      // A pack is read only at its own key: these are nobody's packs, so nothing to index,
      // adopt or delete.
      await mkdir(join(dir.path, 'data', 'ab'), { recursive: true });
      await writeFile(join(dir.path, 'data', 'ab', 'abcdef.tmp'), 'left by a tool');
      await writeFile(join(dir.path, 'data', 'ab', 'notes'), 'a note');
      const report = await checkRepository(await openRepository(repo.store, password));
      assert.deepEqual(report.problems.map((p) => [p.kind, p.message]).sort(), [
        [
          'misplaced-object',
          'data/ab/abcdef.tmp is no pack (its name is not a pack id): hbr never reads it',
        ],
        [
          'misplaced-object',
          'data/ab/notes is no pack (its name is not a pack id): hbr never reads it',
        ],
      ]);
      assert.equal(report.stats.packs, 1);
    } finally {
      await dir.remove();
    }
  });
});

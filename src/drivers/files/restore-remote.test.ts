import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { backUpFiles } from '../../../test/helpers/files-backup.ts';
import { pseudoRandomBytes, tempDir, writeFiles } from '../../../test/helpers/temp.ts';
import { initRepository, openRepository, type BackupRecord } from '../../repository/index.ts';
import { createLocalStore } from '../../stores/local.ts';
import type { Store } from '../../stores/types.ts';
import { restoreFiles } from './restore.ts';

const password = { kind: 'password', password: 'pw' } as const;
const MiB = 1024 * 1024;

/**
 * `store` as a remote one of 16 connections (or a local one), whose ranged reads of packs each
 * take 20 ms, as a round trip would: counts the most of them under way at once.
 */
function _slowReads(store: Store, remote: boolean): { store: Store; most: () => number } {
  let reading = 0;
  let most = 0;
  return {
    store: {
      ...store,
      properties: { ...store.properties, connections: 16, remote },
      async get(key, options) {
        if (!key.startsWith('data/') || !options?.range) return store.get(key, options);
        most = Math.max(most, ++reading);
        try {
          await sleep(20);
          return await store.get(key, options);
        } finally {
          reading--;
        }
      },
    },
    most: () => most,
  };
}

describe('restoring files from a remote store', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;
  let repoPath: string;
  let backup: BackupRecord;
  const files = new Map<string, Buffer>();
  // Small files filling 18 packs (a ranged read of a few dozen files each), and a model of about
  // 24 blobs read one by one.
  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    repoPath = join(dir.path, 'repo');
    for (let i = 0; i < 600; i++)
      files.set(join('artifacts', `a${i}.json`), pseudoRandomBytes(30_000, i + 1));
    files.set(join('models', 'weights.bin'), pseudoRandomBytes(24 * MiB, 7));
    await writeFiles(data, files);
    const repo = await initRepository(createLocalStore({ path: repoPath }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
      packSize: MiB,
    });
    await backUpFiles(repo, { paths: [data], exclude: [] });
    backup = (await repo.backups()).at(-1) as BackupRecord;
  });
  after(async () => dir.remove());

  /** The most ranged reads under way at once while restoring `folder` from such a store. */
  const readsAtOnce = async (folder: string, remote: boolean): Promise<number> => {
    const slow = _slowReads(createLocalStore({ path: repoPath }), remote);
    const target = join(dir.path, `${folder}-${remote ? 'remote' : 'local'}`);
    const result = await restoreFiles({
      repo: await openRepository(slow.store, password),
      backup,
      target,
      include: [join(data, folder)],
    });
    assert.deepEqual(result.errors, []);
    for (const [path, bytes] of files) {
      if (!path.startsWith(`${folder}/`)) continue;
      assert.ok((await readFile(join(target, data, path))).equals(bytes), path);
    }
    return slow.most();
  };

  it('keeps a read in flight per connection: the round trips overlap', async () => {
    // From a local disk, a restore keeps as few reads in flight as hide its wait (at most 8, for
    // the memory they hold); each of a remote store's waits a round trip.
    for (const folder of ['artifacts', 'models']) {
      const local = await readsAtOnce(folder, false);
      const remote = await readsAtOnce(folder, true);
      assert.ok(local <= 8, `${folder} from a local store: ${local} reads at once`);
      assert.ok(remote >= 12, `${folder} from a remote store: ${remote} reads at once`);
    }
  });
});

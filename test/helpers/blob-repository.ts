import { createBlobSaver, type BlobSaver } from '../../src/repository/blob-saver.ts';
import { createMasterIndex } from '../../src/repository/master-index.ts';
import { initRepository, type OpenRepository } from '../../src/repository/repository.ts';
import { createLocalStore } from '../../src/stores/local.ts';

/**
 * A new repository in `path` (password `pw`, a fast scrypt), and a saver storing blobs into it in
 * packs of `packSize`, for tests of packs without backups.
 */
export async function blobsOnly(
  path: string,
  packSize: number,
): Promise<{ repo: OpenRepository; saver: BlobSaver }> {
  const repo = await initRepository(
    createLocalStore({ path }),
    { kind: 'password', password: 'pw' },
    { scryptParams: { N: 1024, r: 8, p: 1 } },
  );
  const saver = createBlobSaver({
    store: repo.store,
    keys: repo.keys,
    index: createMasterIndex(),
    packSize,
    compression: { level: 1 },
  });
  return { repo, saver };
}

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { BlobServiceClient } from '@azure/storage-blob';
import { hbr, summaryOf } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { serviceCommand, startService } from '../stores/services.ts';
import { backupIds, expectCode, PASSWORD, writeTree } from './helpers.ts';

// A private Azurite: this test stops it, which must not disturb other test files.
const INSTANCE = 'replication-fault';

// Why `stop` (SIGTERM) and not `kill` (SIGKILL): Azurite keeps blob metadata in LokiJS and
// saves it every 5 s (node_modules/azurite/.../LokiBlobMetadataStore.js `autosaveInterval`), so
// a SIGKILL loses writes it had already acknowledged — even the repository's `config` written
// seconds earlier. No real store does that; a SIGTERM'd Azurite refuses connections exactly as
// a crashed one does, and keeps what it acknowledged.

describe('a store that dies in the middle of a backup', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let serviceEnv: Record<string, string> = {};

  before(async () => {
    serviceEnv = await startService('azurite', INSTANCE);
    dir = await tempDir('hbr-store-fault-');
  });
  after(async () => {
    await serviceCommand('azurite', 'clean', INSTANCE);
    await dir.remove();
  });

  it('retries while Azurite is down and then completes, or fails without a manifest; check is clean', async () => {
    const repo = `azure://${serviceEnv.AZURE_STORAGE_ACCOUNT}/fault/repo`;
    const opts = {
      env: {
        AZURE_STORAGE_CONNECTION_STRING: serviceEnv.AZURE_STORAGE_CONNECTION_STRING,
        HBR_REPOSITORY: repo,
        HBR_PASSWORD: PASSWORD,
      },
      cwd: dir.path,
    };
    await expectCode(['init', '--pack-size', '1'], opts);
    await writeTree(join(dir.path, 'src'), 21, 24);
    const container = BlobServiceClient.fromConnectionString(
      serviceEnv.AZURE_STORAGE_CONNECTION_STRING ?? '',
    ).getContainerClient('fault');
    const packs = async (): Promise<number> => {
      let n = 0;
      for await (const _ of container.listBlobsFlat({ prefix: 'repo/data/' })) n++;
      return n;
    };

    const backup = hbr(['backup', 'src', '--json'], opts);
    let seen = 0;
    while ((seen = await packs()) < 2) await sleep(10);
    await serviceCommand('azurite', 'stop', INSTANCE);
    await sleep(1500); // the backup's requests now fail and are retried
    await startService('azurite', INSTANCE);
    const result = await backup;
    assert.ok(seen < 24, 'the store stopped before the backup had uploaded everything');

    const ids = await backupIds(repo, opts);
    if (result.code === 0) {
      assert.deepEqual(ids, [String(summaryOf(result).backupId)]);
      assert.ok((await packs()) > seen, 'the backup went on uploading after the restart');
    } else {
      assert.deepEqual(ids, [], `a failed backup leaves no manifest:\n${result.stderr}`);
    }
    await expectCode(['check', '--read-data'], opts);
  });
});

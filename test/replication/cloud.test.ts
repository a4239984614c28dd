import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../helpers/temp.ts';
import {
  removeAzureContainer,
  removeS3Bucket,
  startService,
  type StoreService,
} from '../stores/services.ts';
import {
  assertSameTree,
  backupIds,
  expectCode,
  PASSWORD,
  replicateSummary,
  writeTree,
} from './helpers.ts';

const id = randomBytes(4).toString('hex');
const name = `hbr-replica-${id}`;

/** The replica's URL and the environment that reaches it (credentials and endpoint only). */
const targets: Record<StoreService, (env: Record<string, string>) => string> = {
  azurite: (env) => `azure://${env.AZURE_STORAGE_ACCOUNT}/${name}/offsite`,
  s3: () => `s3://${name}/offsite`,
};

for (const service of ['azurite', 's3'] as const) {
  describe(`hbr replicate from a local repository to ${service}`, () => {
    let dir: { path: string; remove: () => Promise<void> };
    let serviceEnv: Record<string, string> = {};
    let url = '';
    const path = (...parts: string[]): string => join(dir.path, ...parts);

    before(async () => {
      serviceEnv = await startService(service);
      url = targets[service](serviceEnv);
      dir = await tempDir('hbr-replication-cloud-');
      await writeFile(path('password'), PASSWORD);
      await writeFile(
        path('hbr.yaml'),
        `repository:\n  path: ${path('repo')}\n  passwordFile: ${path('password')}\n` +
          `replicas:\n  - name: offsite\n    url: ${url}\n    afterBackup: true\n`,
      );
      await writeTree(path('src'), 7, 4);
    });
    after(async () => {
      await (service === 'azurite'
        ? removeAzureContainer(serviceEnv, name)
        : removeS3Bucket(serviceEnv, name));
      await dir.remove();
    });

    it('copies the repository, keeps it current after backups, and the replica alone restores', async () => {
      const opts = { env: { ...serviceEnv }, cwd: dir.path };
      await expectCode(['init', '--pack-size', '1'], opts);
      await expectCode(['backup', 'src'], opts);
      // The first backup already replicated (afterBackup); an explicit run finds nothing to do.
      const again = replicateSummary(
        await expectCode(['replicate', '--to', 'offsite', '--json'], opts),
      );
      assert.equal(again.ok, true);
      assert.equal(again.newReplica, false);
      assert.equal(again.copiedObjects, 0);
      assert.ok((again.kinds.data?.present ?? 0) >= 4);

      await writeTree(path('src'), 8, 4);
      await expectCode(['backup', 'src'], opts);

      // After the site disaster: the replica's URL, its store credential and the password.
      const disaster = { env: { ...serviceEnv, HBR_PASSWORD: PASSWORD }, cwd: dir.path };
      const onReplica = await backupIds(url, disaster);
      assert.equal(onReplica.length, 2);
      assert.deepEqual(onReplica, await backupIds(path('repo'), disaster));
      await expectCode(['--repo', url, 'check', '--read-data'], disaster);
      await expectCode(['--repo', url, 'restore', 'latest', '--target', 'restored'], disaster);
      await assertSameTree(path('restored', path('src')), path('src'));
    });
  });
}

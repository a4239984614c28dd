import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hbrProcess, type CliResult } from '../helpers/cli.ts';
import { pseudoRandomBytes, tempDir, writeFiles } from '../helpers/temp.ts';
import {
  createS3Bucket,
  removeAzureContainer,
  removeS3Bucket,
  startService,
} from '../stores/services.ts';

// hbr as its own process (bin/hbr.js: the compiled CLI, whose bundle holds the cloud SDKs, when
// it is fresh) on Azurite and s3proxy: what a user runs, with what it prints.
const name = `hbr-cloud-process-${randomBytes(4).toString('hex')}`;

/** 24 files of 1 MiB and 40 of 50 KB: a restore reads many ranges at once. */
const files = new Map<string, Buffer>([
  ...Array.from({ length: 24 }, (_, i) => [`big/${i}.bin`, pseudoRandomBytes(1 << 20, i)] as const),
  ...Array.from(
    { length: 40 },
    (_, i) => [`small/${i}.bin`, pseudoRandomBytes(50_000, 100 + i)] as const,
  ),
]);

describe('hbr in a process of its own on Azure and S3', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let azurite: Record<string, string> = {};
  let s3: Record<string, string> = {};
  const env: Record<'azure' | 's3', NodeJS.ProcessEnv> = { azure: {}, s3: {} };

  before(async () => {
    [azurite, s3] = await Promise.all([startService('azurite'), startService('s3')]);
    dir = await tempDir('hbr-cloud-process-');
    await writeFiles(join(dir.path, 'src'), files);
    const common = { HBR_PASSWORD: 'cloud process test', HBR_CACHE_DIR: join(dir.path, 'cache') };
    env.azure = {
      ...common,
      HBR_REPOSITORY: `azure://${azurite.AZURE_STORAGE_ACCOUNT ?? ''}/${name}/repo`,
      HBR_AZURE_ENDPOINT: azurite.AZURITE_BLOB_URL,
      AZURE_STORAGE_ACCOUNT: azurite.AZURE_STORAGE_ACCOUNT,
      AZURE_STORAGE_KEY: azurite.AZURE_STORAGE_KEY,
    };
    env.s3 = {
      ...common,
      HBR_REPOSITORY: `s3://${name}/repo?pathStyle=true`,
      HBR_S3_ENDPOINT: s3.HBR_S3_ENDPOINT,
      AWS_ACCESS_KEY_ID: s3.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: s3.AWS_SECRET_ACCESS_KEY,
      AWS_REGION: s3.AWS_REGION,
    };
    const { BlobServiceClient } = await import('@azure/storage-blob');
    await BlobServiceClient.fromConnectionString(azurite.AZURE_STORAGE_CONNECTION_STRING ?? '')
      .getContainerClient(name)
      .create();
    await createS3Bucket(s3, name);
  });
  after(async () => {
    await removeAzureContainer(azurite, name);
    await removeS3Bucket(s3, name);
    await dir.remove();
  });

  for (const cloud of ['azure', 's3'] as const) {
    it(`${cloud}: backs up, restores every byte and checks, and prints no warning`, async () => {
      const run = (...args: string[]): Promise<CliResult> =>
        hbrProcess(args, { env: env[cloud], cwd: dir.path }).done;
      const steps = [
        await run('init'),
        await run('backup', 'src', '--no-progress'),
        await run('backups'),
        await run('restore', 'latest', '--target', `restored-${cloud}`, '--no-progress'),
        await run('check', '--read-data'),
      ];
      for (const step of steps) {
        assert.equal(step.code, 0, step.stderr);
        // A warning of Node's (a MaxListenersExceededWarning: 16 reads at once from S3 passed its
        // limit of listeners on the command's signal) or of an SDK's is noise to a user.
        assert.doesNotMatch(step.stderr, /Warning|warning/, step.stderr);
      }
      for (const [path, bytes] of files) {
        const back = await readFile(join(dir.path, `restored-${cloud}`, dir.path, 'src', path));
        assert.ok(back.equals(bytes), path);
      }
    });
  }
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob';
import { DeleteForbiddenError } from '../../src/errors.ts';
import { openStore } from '../../src/stores/location.ts';
import { collect } from '../contracts/store.ts';
import { removeAzureContainer, startService } from './services.ts';

const container = `hbr-sas-${randomBytes(4).toString('hex')}`;
let env: Record<string, string> = {};
let dir = '';

/** Writes a container SAS with the given permissions to a file and returns env vars naming it. */
async function sasEnv(permissions: string): Promise<Record<string, string>> {
  const key = new StorageSharedKeyCredential(
    env.AZURE_STORAGE_ACCOUNT ?? '',
    env.AZURE_STORAGE_KEY ?? '',
  );
  const sas = generateBlobSASQueryParameters(
    {
      containerName: container,
      permissions: ContainerSASPermissions.parse(permissions),
      expiresOn: new Date(Date.now() + 3600_000),
    },
    key,
  ).toString();
  const file = join(dir, `sas-${permissions}`);
  await writeFile(file, `?${sas}\n`, { mode: 0o600 });
  return { HBR_AZURE_SAS_FILE: file, HBR_AZURE_ENDPOINT: env.AZURITE_BLOB_URL ?? '' };
}

before(async () => {
  env = await startService('azurite');
  dir = await mkdtemp(join(tmpdir(), 'hbr-sas-'));
  await BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING ?? '')
    .getContainerClient(container)
    .create();
});
after(async () => {
  await removeAzureContainer(env, container);
  await rm(dir, { recursive: true, force: true });
});

void describe('Azure store with a SAS token', () => {
  void it('writes, reads and lists with a SAS lacking delete, and refuses deletes with a clear error', async () => {
    const attempts: string[] = [];
    const store = await openStore(`azure://${env.AZURE_STORAGE_ACCOUNT}/${container}/repo`, {
      env: await sasEnv('racwl'),
      retry: { minDelayMs: 10, onRetry: (event) => attempts.push(event.op) },
    });
    const data = randomBytes(4096);
    await store.put('data/ab/abcd', data);
    assert.deepEqual(await store.get('data/ab/abcd'), data);
    assert.deepEqual(
      (await collect(store.list('data/'))).map(({ key, size }) => ({ key, size })),
      [{ key: 'data/ab/abcd', size: 4096 }],
    );
    await assert.rejects(store.delete('data/ab/abcd'), (error: unknown) => {
      assert.ok(error instanceof DeleteForbiddenError, String(error));
      assert.match(error.message, /cannot delete/);
      assert.match(error.message, /data\/ab\/abcd/);
      return true;
    });
    assert.deepEqual(attempts, [], 'a refused delete is not retried');
    assert.equal((await store.head('data/ab/abcd'))?.size, 4096);
  });

  void it('deletes with a SAS that grants delete', async () => {
    const store = await openStore(`azure://${env.AZURE_STORAGE_ACCOUNT}/${container}/repo2`, {
      env: await sasEnv('racwdl'),
    });
    await store.put('locks/x', randomBytes(10));
    await store.delete('locks/x');
    assert.equal(await store.head('locks/x'), undefined);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob';
import { hbrProcess, summaryOf, type CliResult } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { removeAzureContainer, startService } from '../stores/services.ts';
import { backupIds, expectCode, PASSWORD, replicateSummary, writeTree } from './helpers.ts';

const container = `hbr-append-${randomBytes(4).toString('hex')}`;

describe('append-only operation with an Azure SAS that cannot delete', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let serviceEnv: Record<string, string> = {};
  let appendOnly: NodeJS.ProcessEnv = {};
  let fullRights: NodeJS.ProcessEnv = {};
  let repo = '';
  let replica = '';

  /**
   * Runs hbr as its own process: the locks an append-only credential cannot delete then belong
   * to a process that has ended, which is what makes them stale (as in real use).
   */
  const appendOnlyRun = async (args: string[]): Promise<CliResult> =>
    hbrProcess(args, { env: appendOnly, cwd: dir.path }).done;

  before(async () => {
    serviceEnv = await startService('azurite');
    dir = await tempDir('hbr-append-only-');
    await BlobServiceClient.fromConnectionString(serviceEnv.AZURE_STORAGE_CONNECTION_STRING ?? '')
      .getContainerClient(container)
      .create();
    // Read, add, create, write, list: everything but delete.
    const sas = generateBlobSASQueryParameters(
      {
        containerName: container,
        permissions: ContainerSASPermissions.parse('racwl'),
        expiresOn: new Date(Date.now() + 3600_000),
      },
      new StorageSharedKeyCredential(
        serviceEnv.AZURE_STORAGE_ACCOUNT ?? '',
        serviceEnv.AZURE_STORAGE_KEY ?? '',
      ),
    ).toString();
    await writeFile(join(dir.path, 'sas'), `?${sas}\n`, { mode: 0o600 });
    repo = `azure://${serviceEnv.AZURE_STORAGE_ACCOUNT}/${container}/repo`;
    replica = `azure://${serviceEnv.AZURE_STORAGE_ACCOUNT}/${container}/replica`;
    appendOnly = {
      HBR_AZURE_SAS_FILE: join(dir.path, 'sas'),
      HBR_AZURE_ENDPOINT: serviceEnv.HBR_AZURE_ENDPOINT,
      HBR_REPOSITORY: repo,
      HBR_PASSWORD: PASSWORD,
    };
    fullRights = {
      AZURE_STORAGE_CONNECTION_STRING: serviceEnv.AZURE_STORAGE_CONNECTION_STRING,
      HBR_REPOSITORY: repo,
      HBR_PASSWORD: PASSWORD,
    };
    await writeTree(join(dir.path, 'src'), 11, 3);
  });
  after(async () => {
    await removeAzureContainer(serviceEnv, container);
    await dir.remove();
  });

  it('initialises, backs up and replicates, but cannot forget or prune, and stays valid', async () => {
    const ok = (result: CliResult, what: string): CliResult => {
      assert.equal(result.code, 0, `${what}:\n${result.stdout}\n${result.stderr}`);
      return result;
    };
    ok(await appendOnlyRun(['init', '--pack-size', '1']), 'init');
    const first = summaryOf(ok(await appendOnlyRun(['backup', 'src', '--json']), 'backup 1'));
    await writeTree(join(dir.path, 'src'), 12, 3);
    ok(await appendOnlyRun(['backup', 'src']), 'backup 2');
    const replicated = replicateSummary(
      ok(await appendOnlyRun(['replicate', '--to-repo', replica, '--json']), 'replicate'),
    );
    assert.equal(replicated.ok, true);
    assert.equal(replicated.kinds.snapshots?.copied, 2);

    const forget = await appendOnlyRun(['forget', String(first.backupId)]);
    assert.notEqual(forget.code, 0);
    assert.match(forget.stderr, /this credential cannot delete/);

    // Something for prune to free: a backup forgotten with full rights.
    await expectCode(['forget', String(first.backupId)], { env: fullRights, cwd: dir.path });
    const prune = await appendOnlyRun(['prune']);
    assert.notEqual(prune.code, 0, prune.stdout);
    assert.match(prune.stderr, /this credential cannot delete/);

    const full = { env: fullRights, cwd: dir.path };
    await expectCode(['check', '--read-data'], full);
    assert.equal((await backupIds(repo, full)).length, 1);
    // The replica kept both backups (replication never deletes) and checks clean too.
    assert.equal((await backupIds(replica, full)).length, 2);
    await expectCode(['--repo', replica, 'check', '--read-data'], full);
    // With full rights, prune now runs (the append-only processes' locks are stale).
    await expectCode(['prune'], full);
    await expectCode(['check', '--read-data'], full);
  });
});

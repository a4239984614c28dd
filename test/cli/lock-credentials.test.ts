import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob';
import { hbr, hbrProcess, type CliResult } from '../helpers/cli.ts';
import { pseudoRandomBytes, tempDir } from '../helpers/temp.ts';
import { removeAzureContainer, startService } from '../stores/services.ts';

// A repository on Azurite, used through SAS tokens as an operator hands them out: one that may
// do everything, an append-only one (no `d`: backups, no prune) and a read-only one (restores).
const container = `hbr-lock-credentials-${randomBytes(4).toString('hex')}`;

describe('locks on credentials that cannot delete or cannot write', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let azurite: Record<string, string> = {};
  const env: Record<'full' | 'appendOnly' | 'readOnly', NodeJS.ProcessEnv> = {
    full: {},
    appendOnly: {},
    readOnly: {},
  };
  const run = (as: keyof typeof env, ...args: string[]): Promise<CliResult> =>
    hbr(args, { env: env[as], cwd: dir.path });
  /** In a process of its own, whose locks are stale to hbr on this host once it has ended. */
  const child = (as: keyof typeof env, ...args: string[]): Promise<CliResult> =>
    hbrProcess(args, { env: env[as], cwd: dir.path }).done;

  /** A file holding a container SAS with these permissions. */
  const sasFile = async (permissions: string): Promise<string> => {
    const account = azurite.AZURE_STORAGE_ACCOUNT ?? '';
    const sas = generateBlobSASQueryParameters(
      {
        containerName: container,
        permissions: ContainerSASPermissions.parse(permissions),
        expiresOn: new Date(Date.now() + 3600_000),
      },
      new StorageSharedKeyCredential(account, azurite.AZURE_STORAGE_KEY ?? ''),
    ).toString();
    const file = join(dir.path, `sas-${permissions}`);
    await writeFile(file, `?${sas}\n`, { mode: 0o600 });
    return file;
  };

  before(async () => {
    azurite = await startService('azurite');
    dir = await tempDir('hbr-lock-credentials-');
    const common = {
      HBR_REPOSITORY: `azure://${azurite.AZURE_STORAGE_ACCOUNT ?? ''}/${container}/repo`,
      HBR_AZURE_ENDPOINT: azurite.AZURITE_BLOB_URL,
      HBR_PASSWORD: 'lock credentials test',
    };
    env.full = {
      ...common,
      AZURE_STORAGE_ACCOUNT: azurite.AZURE_STORAGE_ACCOUNT,
      AZURE_STORAGE_KEY: azurite.AZURE_STORAGE_KEY,
    };
    await BlobServiceClient.fromConnectionString(azurite.AZURE_STORAGE_CONNECTION_STRING ?? '')
      .getContainerClient(container)
      .create();
    env.appendOnly = { ...common, HBR_AZURE_SAS_FILE: await sasFile('racwl') };
    env.readOnly = { ...common, HBR_AZURE_SAS_FILE: await sasFile('rl') };
    await mkdir(join(dir.path, 'src'));
    assert.equal((await run('full', 'init')).code, 0);
    for (const seed of [1, 2]) {
      await writeFile(join(dir.path, 'src', 'a.bin'), pseudoRandomBytes(300_000, seed));
      const backup = await run('appendOnly', 'backup', 'src');
      assert.equal(backup.code, 0, backup.stderr);
      assert.doesNotMatch(backup.stderr, /warning/, 'its lock is left quietly');
    }
    // Those locks were left, by this process: gone once removed, as for a backup run elsewhere.
    assert.equal((await run('full', 'unlock', '--remove-all')).code, 0);
  });
  after(async () => {
    await removeAzureContainer(azurite, container);
    await dir.remove();
  });

  it('stops a restore on a read-only credential beside a lock it cannot read (exit 11)', async () => {
    const blobs = BlobServiceClient.fromConnectionString(
      azurite.AZURE_STORAGE_CONNECTION_STRING ?? '',
    ).getContainerClient(container);
    const stray = `locks/${randomBytes(16).toString('hex')}`;
    const body = randomBytes(300);
    await blobs.getBlockBlobClient(`repo/${stray}`).upload(body, body.length);
    const target = join(dir.path, 'out-unreadable');
    const refused = await run('readOnly', 'restore', 'latest', '--target', target);
    assert.equal(refused.code, 11, refused.stderr);
    assert.match(refused.stderr, new RegExp(`lock ${stray} cannot be read.*exclusive`));
    assert.equal((await run('full', 'unlock', '--remove-all')).code, 0);
    const restored = await run('readOnly', 'restore', 'latest', '--target', target);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stderr, /restore without a lock/);
  });

  it('unlocks on a read-only credential with nothing to remove, and names the locks it cannot remove', async () => {
    const none = await run('readOnly', 'unlock', '--json');
    assert.equal(none.code, 0, none.stderr);
    assert.deepEqual(JSON.parse(none.stdout), { removed: [] });

    // A prune on the append-only credential: refused at its first delete, and its lock with it.
    assert.equal((await run('full', 'forget', 'latest')).code, 0);
    const prune = await child('appendOnly', 'prune');
    assert.equal(prune.code, 1, prune.stderr);
    assert.match(prune.stderr, /cannot delete/);
    const left =
      /prune's lock (locks\/\w+) could not be removed: .*every other hbr command waits for it.*`hbr unlock` with a credential that may delete/.exec(
        prune.stderr,
      );
    assert.ok(left, prune.stderr);

    // Its process has ended, so the lock is stale here: unlock must delete, and cannot.
    const probes: string[] = [];
    for (const as of ['readOnly', 'appendOnly'] as const) {
      const refused = await child(as, 'unlock');
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(
        refused.stderr,
        new RegExp(
          `could not remove 1 lock\\(s\\): ${left[1]} \\(prune by pid \\d+ .*\\).*cannot delete.*with a credential that may delete`,
        ),
      );
      // The append-only one timed the locks by a lock of its own, and says it left that too.
      const probe = /unlock's lock (locks\/\w+) could not be removed/.exec(refused.stderr)?.[1];
      assert.equal(probe !== undefined, as === 'appendOnly', refused.stderr);
      if (probe) probes.push(probe);
    }
    const unlocked = await run('full', 'unlock', '--json');
    assert.equal(unlocked.code, 0, unlocked.stderr);
    const removed = (JSON.parse(unlocked.stdout) as { removed: { key: string }[] }).removed;
    assert.deepEqual(removed.map((l) => l.key).sort(), [left[1], ...probes].sort());
    assert.equal((await run('full', 'prune')).code, 0);
  });
});

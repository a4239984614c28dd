import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobServiceClient } from '@azure/storage-blob';
import { startedDerivations, untakenDerivations } from '../../src/repository/password-kdf.ts';
import { hbr, type CliResult } from '../helpers/cli.ts';
import { pseudoRandomBytes, tempDir } from '../helpers/temp.ts';
import { removeAzureContainer, startService } from '../stores/services.ts';

// A repository on Azurite and a cache folder: what the cache keeps, what it spares, and what
// always reads the store.
const container = `hbr-object-cache-${randomBytes(4).toString('hex')}`;

describe('copies of a remote repository’s index and manifests', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let azurite: Record<string, string> = {};
  let env: NodeJS.ProcessEnv = {};
  let cache = '';
  const run = (...args: string[]): Promise<CliResult> => hbr(args, { env, cwd: dir.path });
  /** The ids of the objects the cache holds copies of, under `index/`, `snapshots/` or `keys/`. */
  const copies = async (prefix: 'index' | 'snapshots' | 'keys'): Promise<string[]> => {
    const stores = await readdir(join(cache, 'objects'));
    assert.equal(stores.length, 1, 'one folder for the one store');
    return (await readdir(join(cache, 'objects', stores[0] ?? '', prefix))).sort();
  };
  const backupIds = async (withEnv = env): Promise<string[]> => {
    const listed = await hbr(['--json', 'backups'], { env: withEnv, cwd: dir.path });
    assert.equal(listed.code, 0, listed.stderr);
    return (JSON.parse(listed.stdout) as { id: string }[]).map((b) => b.id).sort();
  };

  before(async () => {
    azurite = await startService('azurite');
    dir = await tempDir('hbr-object-cache-');
    cache = join(dir.path, 'cache');
    env = {
      HBR_REPOSITORY: `azure://${azurite.AZURE_STORAGE_ACCOUNT ?? ''}/${container}/repo`,
      HBR_AZURE_ENDPOINT: azurite.AZURITE_BLOB_URL,
      AZURE_STORAGE_ACCOUNT: azurite.AZURE_STORAGE_ACCOUNT,
      AZURE_STORAGE_KEY: azurite.AZURE_STORAGE_KEY,
      HBR_PASSWORD: 'object cache test',
      HBR_CACHE_DIR: cache,
    };
    await BlobServiceClient.fromConnectionString(azurite.AZURE_STORAGE_CONNECTION_STRING ?? '')
      .getContainerClient(container)
      .create();
    await mkdir(join(dir.path, 'src'));
    assert.equal((await run('init')).code, 0);
    for (const seed of [1, 2]) {
      await writeFile(join(dir.path, 'src', 'a.bin'), pseudoRandomBytes(200_000, seed));
      const backup = await run('backup', 'src');
      assert.equal(backup.code, 0, backup.stderr);
    }
  });
  after(async () => {
    await removeAzureContainer(azurite, container);
    await dir.remove();
  });

  it('keeps a copy of each manifest and index object, named by its id', async () => {
    const ids = await backupIds();
    assert.equal(ids.length, 2);
    assert.deepEqual(await copies('snapshots'), ids);
    assert.equal((await copies('index')).length, 2, 'one index object per backup');
  });

  it('lists backups from the copies, while check reads the store and finds its damage', async () => {
    const ids = await backupIds();
    const damaged = ids[0] ?? '';
    // Another writer (or bit rot) changed the store's manifest; the copy is still the original.
    await BlobServiceClient.fromConnectionString(azurite.AZURE_STORAGE_CONNECTION_STRING ?? '')
      .getContainerClient(container)
      .getBlockBlobClient(`repo/snapshots/${damaged}`)
      .upload('not a manifest', 14);
    assert.deepEqual(await backupIds(), ids, 'both listed, as they were written');
    const uncached = await hbr(['backups'], { env: { ...env, HBR_CACHE_DIR: '' }, cwd: dir.path });
    assert.match(uncached.stderr, new RegExp(`backup ${damaged.slice(0, 8)}.*left out`));
    const check = await run('check');
    assert.notEqual(check.code, 0, 'the damage is the store’s, and check reports it');
    assert.match(check.stdout + check.stderr, new RegExp(damaged.slice(0, 8)));
  });

  it('drops the copy of a forgotten backup', async () => {
    const ids = await backupIds();
    const forgotten = ids[1] ?? '';
    const forget = await run('forget', forgotten.slice(0, 8));
    assert.equal(forget.code, 0, forget.stderr);
    assert.deepEqual(await copies('snapshots'), [ids[0]]);
  });

  it('keeps a copy of each key file, from which the next command starts its key derivation as it loads', async () => {
    const [first] = await copies('keys');
    assert.ok(first, 'the key init wrote');
    const derivedEarly = async (password: string, withEnv = env): Promise<void> => {
      const started = startedDerivations();
      const untaken = untakenDerivations();
      const listed = await hbr(['backups'], {
        env: { ...withEnv, HBR_PASSWORD: password },
        cwd: dir.path,
      });
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal(startedDerivations(), started + 1, `${password}: started from the copy`);
      assert.equal(untakenDerivations(), untaken, `${password}: taken by the unlock`);
    };
    await derivedEarly(env.HBR_PASSWORD ?? '');
    // The same repository named by a config file instead.
    const config = join(dir.path, 'remote.yaml');
    await writeFile(config, `repository:\n  url: ${env.HBR_REPOSITORY ?? ''}\n`);
    const { HBR_REPOSITORY: _named, ...unnamed } = env;
    await derivedEarly(env.HBR_PASSWORD ?? '', { ...unnamed, HBR_CONFIG: config });
    // A second key: the derivation is started for the oldest, which the unlock tries first.
    const added = await hbr(['--json', 'key', 'add'], {
      env: { ...env, HBR_NEW_PASSWORD: 'second' },
      cwd: dir.path,
    });
    assert.equal(added.code, 0, added.stderr);
    const { id } = JSON.parse(added.stdout) as { id: string };
    assert.deepEqual(await copies('keys'), [first, id].sort());
    await derivedEarly(env.HBR_PASSWORD ?? '');
    const removed = await run('key', 'remove', id.slice(0, 8));
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(await copies('keys'), [first], 'the removed key’s copy dropped');
  });

  it('keeps no copy for a backup with --no-cache', async () => {
    const before = await copies('snapshots');
    await writeFile(join(dir.path, 'src', 'a.bin'), pseudoRandomBytes(200_000, 3));
    const backup = await run('backup', 'src', '--no-cache');
    assert.equal(backup.code, 0, backup.stderr);
    assert.deepEqual(await copies('snapshots'), before);
  });

  it('keeps no copy of a local repository, which is its own disk', async () => {
    const local = { ...env, HBR_REPOSITORY: join(dir.path, 'local-repo') };
    assert.equal((await hbr(['init'], { env: local, cwd: dir.path })).code, 0);
    const backup = await hbr(['backup', 'src'], { env: local, cwd: dir.path });
    assert.equal(backup.code, 0, backup.stderr);
    const stores = await readdir(join(cache, 'objects'));
    assert.equal(stores.length, 1, 'only the remote repository’s folder');
  });
});

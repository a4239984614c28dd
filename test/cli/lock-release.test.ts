import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { hbr, summaryOf, type CliResult } from '../helpers/cli.ts';
import { pseudoRandomBytes, tempDir } from '../helpers/temp.ts';
import { startFaultProxy, type FaultProxy } from '../stores/fault-proxy.ts';
import { removeAzureContainer, startService } from '../stores/services.ts';

// A repository on Azurite reached through a proxy that can refuse the deletes of lock objects,
// as Azure does once the SAS a command started with has expired: the command's work is done by
// then, and only its lock cannot be removed.
const container = `hbr-lock-release-${randomBytes(4).toString('hex')}`;

describe('a command whose lock cannot be removed at its end', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let azurite: Record<string, string> = {};
  let proxy: FaultProxy;
  let env: NodeJS.ProcessEnv = {};
  const run = (args: string[]): Promise<CliResult> => hbr(args, { env, cwd: dir.path });
  /** From now on, deletes under locks/ are refused (403 AuthenticationFailed). */
  const refuseLockDeletes = (): void => {
    proxy.mode = 'refuse';
    proxy.match = (request) => request.method === 'DELETE' && /\/locks\//.test(request.url ?? '');
  };

  before(async () => {
    azurite = await startService('azurite');
    dir = await tempDir('hbr-lock-release-');
    proxy = await startFaultProxy(azurite.AZURITE_BLOB_URL ?? '');
    env = {
      HBR_REPOSITORY: `azure://${azurite.AZURE_STORAGE_ACCOUNT ?? ''}/${container}/repo`,
      HBR_AZURE_ENDPOINT: `${proxy.url}/${azurite.AZURE_STORAGE_ACCOUNT ?? ''}`,
      AZURE_STORAGE_ACCOUNT: azurite.AZURE_STORAGE_ACCOUNT,
      AZURE_STORAGE_KEY: azurite.AZURE_STORAGE_KEY,
      HBR_PASSWORD: 'lock release test',
    };
    await mkdir(join(dir.path, 'src'));
    await writeFile(join(dir.path, 'src', 'a.bin'), pseudoRandomBytes(300_000, 3));
    const init = await run(['init']);
    assert.equal(init.code, 0, init.stderr);
  });
  // The left locks are this process's, alive to every later command: removed as the warning says.
  afterEach(async () => {
    proxy.mode = 'pass';
    const unlock = await run(['unlock', '--remove-all']);
    assert.equal(unlock.code, 0, unlock.stderr);
  });
  after(async () => {
    await proxy.close();
    await removeAzureContainer(azurite, container);
    await dir.remove();
  });

  it('backs up, exits 0 and warns which lock was left, why and what clears it (--json)', async () => {
    refuseLockDeletes();
    const result = await run(['backup', 'src', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(proxy.faults > 0, 'the lock delete was refused');
    const { backupId } = summaryOf(result);
    const warnings = result.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { messageType: string; message: string; details?: object });
    const [warning] = warnings.filter((w) => w.messageType === 'warning');
    assert.match(warning?.message ?? '', /lock locks\/\w+ could not be removed/, result.stderr);
    assert.match(warning?.message ?? '', /AuthenticationFailed/);
    assert.match(warning?.message ?? '', /30 minutes.*`hbr unlock`/);
    assert.match(JSON.stringify(warning?.details), /"lock":"locks\/\w+"/);

    proxy.mode = 'pass';
    const listed = await run(['backups', '--json']);
    const ids = (JSON.parse(listed.stdout) as { id: string }[]).map((b) => b.id);
    assert.ok(ids.includes(String(backupId)), 'the backup is listed');
  });

  it('backs up and warns on stderr without --json', async () => {
    refuseLockDeletes();
    const result = await run(['backup', 'src']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /backup \w+ saved/);
    assert.match(result.stderr, /warning: .*backup's lock locks\/\w+ could not be removed/);
  });

  it('prunes, exits 0 and warns that its exclusive lock keeps other commands out until stale', async () => {
    refuseLockDeletes();
    const result = await run(['prune']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /freed/);
    assert.match(result.stderr, /prune's lock locks\/\w+ could not be removed.*every other/);
  });

  it('reports the error of work that failed, not the failed removal of its lock', async () => {
    const keys = JSON.parse((await run(['key', 'list', '--json'])).stdout) as {
      id: string;
      current: boolean;
    }[];
    const current = keys.find((k) => k.current)?.id ?? '';
    refuseLockDeletes();
    const result = await run(['key', 'remove', current.slice(0, 8)]);
    assert.match(result.stderr, /refusing to remove the key that opened the repository/);
    assert.equal(result.code, 2, result.stderr); // a usage error, as without the lock's failure
    assert.match(result.stderr, /key remove's lock locks\/\w+ could not be removed/);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hbr } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';
import { removeAzureContainer, startService } from './services.ts';

describe('a repository whose store credential comes from credentialFile in hbr.yaml', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let azurite: Record<string, string> = {};
  const container = `hbr-credfile-${randomBytes(4).toString('hex')}`;

  before(async () => {
    dir = await tempDir();
    azurite = await startService('azurite');
  });
  after(async () => {
    await removeAzureContainer(azurite, container);
    await dir.remove();
  });

  it('backs up to Azure with no Azure variables in the environment', async () => {
    await writeFile(
      join(dir.path, 'azure-credential'),
      `${azurite.AZURE_STORAGE_CONNECTION_STRING}\n`,
    );
    await writeFile(join(dir.path, 'pw'), 'pw\n');
    await mkdir(join(dir.path, 'data'));
    await writeFile(join(dir.path, 'data', 'a.txt'), 'alpha');
    await writeFile(
      join(dir.path, 'hbr.yaml'),
      [
        'repository:',
        `  url: azure://${azurite.AZURE_STORAGE_ACCOUNT}/${container}/prod?endpoint=${encodeURIComponent(azurite.HBR_AZURE_ENDPOINT ?? '')}`,
        '  passwordFile: pw',
        '  credentialFile: azure-credential',
      ].join('\n'),
    );
    const env = { PATH: process.env.PATH };
    const run = (...args: string[]) => hbr(args, { env, cwd: dir.path });
    assert.equal((await run('init')).code, 0);
    const backup = await run('backup', 'data');
    assert.equal(backup.code, 0, backup.stderr);
    const check = await run('check', '--read-data');
    assert.equal(check.code, 0, check.stdout + check.stderr);
    // Without the file, the same repository cannot be reached.
    await writeFile(join(dir.path, 'azure-credential'), 'not a credential\n');
    assert.notEqual((await run('backups')).code, 0);
  });
});

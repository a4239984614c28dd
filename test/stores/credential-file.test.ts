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
  it("opens the config's repository named by --repo with its credentialFile and retainFor", async () => {
    const home = join(dir.path, 'by-flag');
    await mkdir(join(home, 'data'), { recursive: true });
    await writeFile(join(home, 'data', 'a.txt'), 'alpha');
    await writeFile(join(home, 'pw'), 'pw\n');
    await writeFile(join(home, 'azure-credential'), `${azurite.AZURE_STORAGE_CONNECTION_STRING}\n`);
    const endpoint = encodeURIComponent(azurite.HBR_AZURE_ENDPOINT ?? '');
    const url = `azure://${azurite.AZURE_STORAGE_ACCOUNT}/${container}/held?endpoint=${endpoint}&immutability=Unlocked`;
    const config = (retainFor: string) =>
      [
        'repository:',
        `  url: ${url}`,
        '  passwordFile: pw',
        '  credentialFile: azure-credential',
        ...(retainFor ? [`  retainFor: ${retainFor}`] : []),
      ].join('\n');
    const env = { PATH: process.env.PATH };
    const run = (...args: string[]) => hbr(args, { env, cwd: home });
    await writeFile(join(home, 'hbr.yaml'), config(''));
    assert.equal((await run('init')).code, 0);
    // No Azure variables: the store's credential comes from the config, as without --repo.
    const listed = await run('-r', url, 'backups');
    assert.equal(listed.code, 0, listed.stderr);
    const stored = await run('-r', url, '--password-file', 'pw', 'backup', 'data');
    assert.equal(stored.code, 0, stored.stderr);
    // With retainFor, every object a backup writes asks for it; Azurite drops such policies, and
    // a backup refuses to report success, named by the config or by --repo alike (before, the
    // second wrote objects with no retention and exited 0).
    await writeFile(join(home, 'hbr.yaml'), config('1d'));
    for (const args of [[], ['-r', url], ['-r', url, '--password-file', 'pw']]) {
      const held = await run(...args, 'backup', 'data');
      assert.notEqual(held.code, 0, `${args.join(' ')}: ${held.stdout}`);
      assert.match(held.stderr, /NOT protected/, args.join(' '));
    }
  });
});

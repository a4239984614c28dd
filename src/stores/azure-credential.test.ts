import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../errors.ts';
import { parseAzureCredential, resolveAzureCredential } from './azure-credential.ts';

const files: Record<string, string> = {
  '/etc/hbr/sas': '?sv=2024-01-01&sp=racwl&sig=abc%3D\n',
  '/etc/hbr/azure':
    'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net',
  '/etc/hbr/key':
    'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==\n',
  '/etc/hbr/junk': 'hello world',
  '/etc/hbr/sas-endpoint':
    'BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2024-01-01&sig=abc',
  '/etc/hbr/azurite':
    'DefaultEndpointsProtocol=http;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/acct;',
};
const readFile = (path: string): Promise<string> =>
  path in files ? Promise.resolve(files[path] ?? '') : Promise.reject(new Error(`ENOENT: ${path}`));

void describe('Azure credentials', () => {
  void it('recognises connection strings, SAS tokens and account keys by their shape', () => {
    assert.equal(
      parseAzureCredential(files['/etc/hbr/azure'] ?? '', 'f').kind,
      'connection-string',
    );
    assert.deepEqual(parseAzureCredential(files['/etc/hbr/sas'] ?? '', 'f'), {
      kind: 'sas',
      token: 'sv=2024-01-01&sp=racwl&sig=abc%3D',
    });
    assert.equal(parseAzureCredential(files['/etc/hbr/key'] ?? '', 'f').kind, 'shared-key');
    assert.throws(() => parseAzureCredential('hello world', 'f'), UsageError);
  });

  void it('prefers the credential file, then the SAS file, then variables', async () => {
    const env = {
      HBR_AZURE_SAS_FILE: '/etc/hbr/sas',
      AZURE_STORAGE_CONNECTION_STRING: files['/etc/hbr/azure'],
      AZURE_STORAGE_KEY: 'a2V5',
    };
    const resolve = (extra: Record<string, string | undefined>, credentialFile?: string) =>
      resolveAzureCredential({
        account: 'acct',
        env: { ...env, ...extra },
        credentialFile,
        readFile,
      });
    assert.equal((await resolve({}, '/etc/hbr/key')).kind, 'shared-key');
    assert.equal(
      (await resolve({ HBR_AZURE_CREDENTIAL_FILE: '/etc/hbr/azure' })).kind,
      'connection-string',
    );
    assert.equal((await resolve({})).kind, 'sas');
    assert.equal((await resolve({ HBR_AZURE_SAS_FILE: undefined })).kind, 'connection-string');
    assert.deepEqual(
      await resolve({ HBR_AZURE_SAS_FILE: '', AZURE_STORAGE_CONNECTION_STRING: undefined }),
      { kind: 'shared-key', accountKey: 'a2V5' },
    );
  });

  void it('names the file it cannot read or recognise, without echoing its content', async () => {
    await assert.rejects(
      resolveAzureCredential({ account: 'acct', env: { HBR_AZURE_SAS_FILE: '/nope' }, readFile }),
      /cannot read SAS file \/nope/,
    );
    await assert.rejects(
      resolveAzureCredential({
        account: 'acct',
        env: {},
        credentialFile: '/etc/hbr/junk',
        readFile,
      }),
      (error: Error) => {
        assert.match(error.message, /\/etc\/hbr\/junk holds neither/);
        assert.doesNotMatch(error.message, /hello/);
        return true;
      },
    );
  });

  void it('refuses a connection string for another account', async () => {
    await assert.rejects(
      resolveAzureCredential({
        account: 'other',
        env: { AZURE_STORAGE_CONNECTION_STRING: files['/etc/hbr/azure'] },
        readFile,
      }),
      /is for account acct, not other/,
    );
  });

  void it('refuses a credential file whose connection string is for another account', async () => {
    const resolve = (account: string, file: string, fromEnv: boolean) =>
      resolveAzureCredential({
        account,
        env: fromEnv ? { HBR_AZURE_CREDENTIAL_FILE: file } : {},
        credentialFile: fromEnv ? undefined : file,
        readFile,
      });
    for (const fromEnv of [false, true]) {
      // By AccountName, by the BlobEndpoint's host, and by an emulator endpoint's path.
      for (const file of ['/etc/hbr/azure', '/etc/hbr/sas-endpoint', '/etc/hbr/azurite']) {
        await assert.rejects(
          resolve('other', file, fromEnv),
          new RegExp(`${file} is for account acct, not other`),
        );
        assert.equal((await resolve('acct', file, fromEnv)).kind, 'connection-string');
      }
    }
  });
});

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { resolve } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { StoreError, UsageError } from '../errors.ts';
import { openStore, parseLocation } from './location.ts';

void describe('parseLocation', () => {
  void it('reads paths and file URLs as local folders', () => {
    assert.deepEqual(parseLocation('/srv/backups/hbr'), {
      kind: 'local',
      path: '/srv/backups/hbr',
    });
    assert.deepEqual(parseLocation('./repo'), { kind: 'local', path: resolve('repo') });
    assert.deepEqual(parseLocation('file:///srv/backups/my%20repo'), {
      kind: 'local',
      path: '/srv/backups/my repo',
    });
  });

  void it('reads an Azure location with prefix, endpoint, tiers, immutability, connections and idle timeout', () => {
    assert.deepEqual(
      parseLocation(
        'azure://sahartonomous/hbr/prod/site-a?endpoint=http://127.0.0.1:10000/sahartonomous/&tier=hot&dataTier=Cool&immutability=Locked&connections=8&idleTimeout=90',
      ),
      {
        kind: 'azure',
        account: 'sahartonomous',
        container: 'hbr',
        prefix: 'prod/site-a',
        endpoint: 'http://127.0.0.1:10000/sahartonomous',
        tiers: { default: 'Hot', data: 'Cool' },
        immutability: 'Locked',
        connections: 8,
        idleTimeoutMs: 90_000,
      },
    );
    assert.equal(parseLocation('azure://acct/container').kind, 'azure');
  });

  void it('reads an S3 location with endpoint, region, path style, storage classes, object lock and idle timeout', () => {
    assert.deepEqual(
      parseLocation(
        's3://my-backups/hbr?endpoint=https://s3.example.net&region=eu-west-1&pathStyle=true&dataStorageClass=STANDARD_IA&objectLock=COMPLIANCE&idleTimeout=300',
      ),
      {
        kind: 's3',
        bucket: 'my-backups',
        prefix: 'hbr',
        endpoint: 'https://s3.example.net',
        region: 'eu-west-1',
        pathStyle: true,
        storageClasses: { data: 'STANDARD_IA' },
        objectLock: 'COMPLIANCE',
        connections: undefined,
        idleTimeoutMs: 300_000,
      },
    );
  });

  void it('rejects unknown schemes, bad names, unknown parameters and credentials in the URL', () => {
    const cases: [string, RegExp][] = [
      ['sftp://host/path', /unknown repository location/],
      ['gs:bucket', /written as restic writes locations.*hbr has no gs store/],
      ['s3:bucket/prod', /hbr expects s3:\/\/BUCKET\/PREFIX/],
      ['file:/srv/backup', /hbr expects a path \(\/srv\/backup\) or file:\/\/\/srv\/backup/],
      ['azure://acct', /CONTAINER/],
      ['azure://Bad_Account/c0n', /account name/],
      ['azure://acct/ab', /container name/],
      ['s3://x/prefix', /bucket name/],
      ['s3://bucket/p?endpont=http://x', /unknown parameter 'endpont'.*allowed: endpoint/],
      ['azure://acct/cont?tier=Frozen', /tier must be one of Hot, Cool, Cold, Archive/],
      ['s3://key:secret@bucket/p', /credentials/],
      ['azure://acct/cont/p?sv=2024-01-01&sp=rl&sig=abc', /HBR_AZURE_SAS_FILE/],
      ['s3://bucket/p?endpoint=http://key:secret@host', /credentials/],
      ['azure://acct/cont?endpoint=ftp://host', /http\(s\)/],
      ['s3://bucket/p?connections=0', /connections must be an integer/],
      ['s3://bucket/p?idleTimeout=0', /idleTimeout \(seconds\) must be an integer from 1/],
      ['azure://acct/cont?idleTimeout=2m', /idleTimeout \(seconds\) must be an integer from 1/],
      ['   ', /empty/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseLocation(text),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
        text,
      );
    }
  });

  void it('refuses secrets in the query without echoing them or the rest of the query', () => {
    const cases = [
      // A pasted SAS whose first parameter is not one hbr knows as secret.
      'azure://acct/container/a?st=2024-01-01&se=2030-01-01&sp=rl&sv=2022-11-02&sr=c&sig=S3CR3T%3D',
      'https://acct.blob.core.windows.net/container?sv=2022-11-02&sig=S3CR3T%3D',
      's3://backups/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA&X-Amz-Signature=S3CR3T',
      's3://backups/x?region=eu-west-1&secretAccessKey=S3CR3T',
      's3://backups/x?accessKeyId=AKIA&sessionToken=S3CR3T',
      'gs:backups?token=S3CR3T',
    ];
    for (const text of cases) {
      assert.throws(
        () => parseLocation(text),
        (error: unknown) =>
          error instanceof UsageError &&
          /signature, key or token/.test(error.message) &&
          !/S3CR3T|AKIA/.test(error.message),
        text,
      );
    }
    // Other errors name the location without its query either.
    assert.throws(
      () => parseLocation('s3://backups/x?endpont=http://internal.example&region=r'),
      (error: unknown) =>
        error instanceof UsageError &&
        /unknown parameter 'endpont' in s3:\/\/backups\/x;/.test(error.message) &&
        !error.message.includes('internal.example'),
    );
  });

  void it('refuses a fragment, a port or a bad %-escape rather than guessing', () => {
    const cases: [string, RegExp][] = [
      ['s3://backups/prod#2024', /'#'.*%23/],
      ['azure://acct/container/site#1', /'#'.*%23/],
      ['s3://backups:9000/prod', /port.*endpoint=/],
      ['azure://acct:10000/container', /port.*endpoint=/],
      ['s3://backups/100%', /%25/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseLocation(text),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
        text,
      );
    }
    assert.deepEqual(parseLocation('s3://backups/prod%232024/100%25'), {
      kind: 's3',
      bucket: 'backups',
      prefix: 'prod#2024/100%',
      endpoint: undefined,
      region: undefined,
      pathStyle: undefined,
      storageClasses: {},
      objectLock: undefined,
      connections: undefined,
      idleTimeoutMs: undefined,
    });
  });
});

void describe('openStore', () => {
  void it('fails with a UsageError listing the variables when an Azure location has no credential', async () => {
    await assert.rejects(openStore('azure://acct/container', { env: {} }), (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, /AZURE_STORAGE_CONNECTION_STRING/);
      assert.match(error.message, /HBR_AZURE_SAS_FILE/);
      return true;
    });
  });

  void it('refuses an Azure key that the environment says belongs to another account', async () => {
    const env = { AZURE_STORAGE_ACCOUNT: 'other', AZURE_STORAGE_KEY: 'a2V5a2V5a2V5a2V5a2V5a2V5' };
    await assert.rejects(
      openStore('azure://acct/container', { env }),
      /for account other, not acct/,
    );
  });

  void it('refuses half of an S3 key pair', async () => {
    await assert.rejects(
      openStore('s3://bucket/p', { env: { AWS_ACCESS_KEY_ID: 'x' } }),
      /both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
  });
});

void describe('idleTimeout in a location', () => {
  // A server that takes every request and never answers, so only the idle timeout ends one.
  let server: http.Server | undefined;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await new Promise((done) => server?.close(done));
  });
  const silentServer = async (): Promise<string> => {
    server = http.createServer(() => undefined);
    server.on('connection', (socket: Socket) => sockets.add(socket));
    await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  // The stores name the timeout in their message, which shows which value reached them.
  const timedOutAfter = (pattern: RegExp) => (error: unknown) => {
    assert.ok(error instanceof StoreError, String(error));
    assert.equal(error.permanent, false);
    assert.match(error.message, pattern);
    return true;
  };

  void it('reaches the S3 store', async () => {
    const endpoint = await silentServer();
    const env = { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' };
    const store = await openStore(`s3://bucket/p?endpoint=${endpoint}&idleTimeout=1`, {
      env,
      retry: false,
    });
    await assert.rejects(store.get('config'), timedOutAfter(/after 1000 ms of inactivity/));
    await store.close?.();
  });

  void it('reaches the Azure store', async () => {
    const endpoint = await silentServer();
    const env = { AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_KEY: 'a2V5a2V5a2V5a2V5a2V5a2V5' };
    const store = await openStore(`azure://acct/container?endpoint=${endpoint}&idleTimeout=1`, {
      env,
      retry: false,
    });
    await assert.rejects(store.get('config'), timedOutAfter(/no bytes from the service for 1 s/));
  });
});

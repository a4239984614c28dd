import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConnectionUrl, parseCredentials } from './connection.ts';

void test('a connection URL gives host, port, instance, decoded credentials and TLS flags', () => {
  assert.deepEqual(
    parseConnectionUrl('mssql://sa:P%40ss%3Aw0rd@127.0.0.1:14330?trustServerCertificate=true'),
    {
      server: '127.0.0.1',
      port: 14330,
      user: 'sa',
      password: 'P@ss:w0rd',
      encrypt: true,
      trustServerCertificate: true,
    },
  );
  const named = parseConnectionUrl('sqlserver://u:p@sql1/INST01?encrypt=false');
  assert.equal(named.instanceName, 'INST01');
  assert.equal(named.encrypt, false);
  assert.equal(named.port, undefined);
});

void test('malformed URLs are configuration errors', () => {
  for (const bad of ['not a url', 'http://u:p@h', 'mssql://h:1433', 'mssql://u@h']) {
    assert.throws(() => parseConnectionUrl(bad), /\[sqlserver\]/, bad);
  }
});

void test('credentials come from a JSON or two-line file, else from the environment', () => {
  assert.deepEqual(parseCredentials('{"user":"hbr","password":"x y"}', {}), {
    user: 'hbr',
    password: 'x y',
  });
  assert.deepEqual(parseCredentials('hbr\nsecret\n', {}), { user: 'hbr', password: 'secret' });
  assert.deepEqual(
    parseCredentials(undefined, { HBR_SQLSERVER_USER: 'a', HBR_SQLSERVER_PASSWORD: 'b' }),
    {
      user: 'a',
      password: 'b',
    },
  );
  assert.throws(() => parseCredentials('only-user', {}), /must hold a user and a password/);
  assert.throws(() => parseCredentials(undefined, {}), /no credentials/);
});

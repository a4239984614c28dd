import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveNeo4jSource, type Neo4jSourceBlock } from './source-config.ts';

describe('resolveNeo4jSource', () => {
  let dir: string;
  let configFile: string;
  const block = (extra: Partial<Neo4jSourceBlock> = {}): Neo4jSourceBlock => ({
    home: './home',
    bolt: 'bolt://127.0.0.1:7687',
    database: 'neo4j',
    credentialFile: './cred',
    ...extra,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-config-'));
    configFile = join(dir, 'hbr.yaml');
    await writeFile(join(dir, 'cred'), 'reader\ns3cret pass\n');
    await writeFile(join(dir, 'cred.json'), '{"user":"admin","password":"p w"}');
    await writeFile(join(dir, 'cred.bad'), 'only-a-user\n');
    await writeFile(join(dir, 'cred.badjson'), '{"user": ');
    await mkdir(join(dir, 'scratch', 'conf'), { recursive: true });
    await writeFile(
      join(dir, 'scratch', 'conf', 'neo4j.conf'),
      'server.bolt.listen_address=:7000\nserver.bolt.listen_address=0.0.0.0:7001\n',
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('reads user and password from two lines or JSON, relative to the config file', async () => {
    const lines = await resolveNeo4jSource('g', block(), configFile, {});
    assert.deepEqual(lines.bolt, {
      url: 'bolt://127.0.0.1:7687',
      user: 'reader',
      password: 's3cret pass',
    });
    assert.equal(lines.home, join(dir, 'home'));
    assert.equal(lines.mode, 'dump');
    const json = await resolveNeo4jSource(
      'g',
      block({ credentialFile: 'cred.json' }),
      configFile,
      {},
    );
    assert.deepEqual([json.bolt.user, json.bolt.password], ['admin', 'p w']);
  });

  test('falls back to HBR_NEO4J_PASSWORD without a credential file', async () => {
    const r = await resolveNeo4jSource('g', block({ credentialFile: undefined }), configFile, {
      HBR_NEO4J_PASSWORD: 'from env',
    });
    assert.deepEqual([r.bolt.user, r.bolt.password], ['neo4j', 'from env']);
  });

  test('a missing or malformed credential file, or no credentials at all, is a config error naming the key', async () => {
    for (const credentialFile of ['missing', 'cred.bad', 'cred.badjson', undefined]) {
      await assert.rejects(
        resolveNeo4jSource('g', block({ credentialFile }), configFile, {}),
        (e: Error & { code?: string }) =>
          e.code === 'CONFIG' && /sources\.g\.neo4j/.test(e.message),
      );
    }
  });

  test('enterprise mode without its enterprise: block is a config error naming what to add', async () => {
    await assert.rejects(
      resolveNeo4jSource('g', block({ mode: 'enterprise' }), configFile, {}),
      /mode: enterprise needs an enterprise: block with from .* and workDir/,
    );
  });

  test('configured stop and start commands run through sh; a scratch home ignores them and reads its Bolt port from its conf', async () => {
    const live = await resolveNeo4jSource(
      'g',
      block({ stopCommand: 'systemctl stop neo4j', startCommand: 'systemctl start neo4j' }),
      configFile,
      {},
    );
    assert.deepEqual(live.commands, {
      stop: 'systemctl stop neo4j',
      start: 'systemctl start neo4j',
    });
    const scratch = await resolveNeo4jSource(
      'g',
      block({ stopCommand: 'systemctl stop neo4j' }),
      configFile,
      {},
      { scratchHome: join(dir, 'scratch') },
    );
    assert.equal(scratch.bolt.url, 'bolt://127.0.0.1:7001');
    assert.match(scratch.commands.stop, /SIGTERM/);
    assert.equal(scratch.admin.command, join(dir, 'scratch', 'bin', 'neo4j-admin'));
    await assert.rejects(
      resolveNeo4jSource('g', block(), configFile, {}, { scratchHome: join(dir, 'nowhere') }),
      /give --bolt URL/,
    );
  });
});

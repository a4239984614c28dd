import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../errors.ts';
import { loadConfig } from './load.ts';

let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hbr-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  return file;
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected loadConfig to throw');
}

void describe('loadConfig', () => {
  void test('resolves relative paths against the folder of the config file, not the cwd', async () => {
    await write(
      'etc/hbr/hbr.yaml',
      [
        'repository:',
        '  path: ../../repo',
        '  passwordFile: secrets/password',
        'replicas:',
        '  - { name: usb, path: /mnt/usb/hbr, keyFile: usb.key }',
        '  - { name: cloud, url: "azure://acct/hbr/prod" }',
        'sources:',
        '  - name: models',
        '    files: { paths: [models, /srv/absolute], exclude: ["*.tmp"] }',
        '  - name: graph',
        '    neo4j: { home: neo4j-home, bolt: "bolt://localhost:7687", database: neo4j, credentialFile: neo.cred }',
        '  - name: sql',
        '    sqlserver: { server: db1, database: H, credentialFile: sql.cred, stagingPath: D:\\backup }',
      ].join('\n'),
    );
    const config = await loadConfig('etc/hbr/hbr.yaml', { cwd: dir });
    const etc = path.join(dir, 'etc/hbr');
    assert.equal(config.repository?.path, path.join(dir, 'repo'));
    assert.equal(config.repository?.passwordFile, path.join(etc, 'secrets/password'));
    assert.equal(config.replicas?.[0]?.path, '/mnt/usb/hbr');
    assert.equal(config.replicas?.[0]?.keyFile, path.join(etc, 'usb.key'));
    assert.equal(config.replicas?.[1]?.url, 'azure://acct/hbr/prod');
    assert.equal(config.replicas?.[1]?.path, undefined);
    const [files, graph, sql] = config.sources ?? [];
    assert.equal(files?.kind, 'files');
    assert.deepEqual(files?.kind === 'files' && files.files, {
      paths: [path.join(etc, 'models'), '/srv/absolute'],
      exclude: ['*.tmp'],
    });
    assert.ok(graph?.kind === 'neo4j');
    assert.equal(graph.neo4j.home, path.join(etc, 'neo4j-home'));
    assert.equal(graph.neo4j.credentialFile, path.join(etc, 'neo.cred'));
    assert.ok(sql?.kind === 'sqlserver');
    assert.equal(sql.sqlserver.credentialFile, path.join(etc, 'sql.cred'));
    // A path on the database server is not ours to resolve.
    assert.equal(sql.sqlserver.stagingPath, 'D:\\backup');
  });

  void test('a named config file that does not exist is a ConfigError naming the file', async () => {
    const error = await configError(loadConfig('nope/hbr.yaml', { cwd: dir }));
    assert.equal(error.message, 'nope/hbr.yaml: cannot read the config file: no such file');
    assert.equal(error.file, 'nope/hbr.yaml');
  });

  void test('a folder given as the config file is a ConfigError', async () => {
    const error = await configError(loadConfig(dir));
    assert.match(error.message, /is a folder, not a file/);
  });

  void test('an unknown key names the file, its line and the key, and suggests the right one', async () => {
    const file = await write(
      'typo.yaml',
      [
        'repository:',
        '  path: /r',
        'sources:',
        '  - name: a',
        '    files: { paths: [x] }',
        '    retension: {}',
      ].join('\n'),
    );
    const error = await configError(loadConfig(file));
    assert.equal(
      error.message,
      `${file}:6:5: sources[0].retension: unknown key "retension" (did you mean "retention"?)`,
    );
    assert.equal(error.line, 6);
    assert.equal(error.key, 'sources[0].retension');
  });

  void test('refuses a source named "files", the name of command-line backups', async () => {
    const file = await write(
      'reserved.yaml',
      [
        'repository:',
        '  path: /r',
        'sources:',
        '  - name: files',
        '    files: { paths: [x] }',
      ].join('\n'),
    );
    const error = await configError(loadConfig(file));
    assert.match(
      error.message,
      new RegExp(`^${file}:4:.*sources\\[0\\]\\.name: "files" is reserved`),
    );
    assert.equal(error.line, 4);
  });

  void test('a url: the store would refuse is a config error naming its line', async () => {
    const unknown = await write(
      'url-param.yaml',
      ['repository:', '  url: "s3://bucket/p?endpont=http://x"'].join('\n'),
    );
    const error = await configError(loadConfig(unknown));
    assert.match(
      error.message,
      new RegExp(`^${unknown}:2:.*repository\\.url: .*unknown parameter 'endpont'`),
    );
    assert.equal(error.line, 2);
    const secret = await write(
      'url-secret.yaml',
      [
        'repository:',
        '  path: /r',
        'replicas:',
        '  - name: off',
        '    url: "azure://acct/cont?sv=1&sig=abc"',
      ].join('\n'),
    );
    const leaked = await configError(loadConfig(secret));
    assert.equal(leaked.line, 5);
    assert.doesNotMatch(leaked.message, /abc/);
  });

  void test('refuses retainFor on a repository whose store cannot hold retention', async () => {
    for (const location of ['path: /r', 'url: "azure://acct/cont/p"', 'url: "s3://bucket/p"']) {
      const file = await write(
        'retain.yaml',
        ['repository:', `  ${location}`, '  retainFor: 90d'].join('\n'),
      );
      const error = await configError(loadConfig(file));
      assert.match(
        error.message,
        new RegExp(`^${file}:3:.*repository\\.retainFor: .*does not support object retention`),
      );
    }
    for (const url of [
      'azure://acct/cont/p?immutability=Unlocked',
      's3://bucket/p?objectLock=GOVERNANCE',
    ]) {
      const file = await write(
        'retain-ok.yaml',
        ['repository:', `  url: "${url}"`, '  retainFor: 90d'].join('\n'),
      );
      assert.equal((await loadConfig(file)).repository?.retainFor, '90d');
    }
  });

  void test('a YAML syntax error names the file and line', async () => {
    const file = await write('bad.yaml', 'repository:\n  path: /r\nsources: [a\nfoo: 1\n');
    const error = await configError(loadConfig(file));
    assert.match(error.message, new RegExp(`^${file}:4:1: invalid YAML: `));
    assert.equal(error.line, 4);
  });
});

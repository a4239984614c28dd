import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../config/load.ts';
import { resolveEnterpriseSettings } from './enterprise-config.ts';
import { resolveNeo4jSource } from './source-config.ts';

/** An hbr.yaml with one neo4j source whose block ends with `lines` (indented under neo4j:). */
function yaml(lines: string[]): string {
  return [
    'sources:',
    '  - name: graph',
    '    neo4j:',
    '      home: /opt/neo4j',
    '      bolt: bolt://127.0.0.1:7687',
    '      database: neo4j',
    ...lines.map((l) => `      ${l}`),
  ].join('\n');
}

const parse = (lines: string[]) =>
  parseConfig(yaml(lines), { file: '/etc/hbr/hbr.yaml', baseDir: '/etc/hbr' });

describe('enterprise config: schema', () => {
  test('accepts a full enterprise block', () => {
    const config = parse([
      'mode: enterprise',
      'enterprise:',
      '  from: ["127.0.0.1:6362", "neo4j-2.internal:6362"]',
      '  workDir: work',
      '  type: diff',
      '  includeSystem: false',
      '  compress: true',
      '  includeMetadata: all',
      '  pagecache: 512m',
    ]);
    const source = config.sources?.[0];
    assert.ok(source?.kind === 'neo4j');
    assert.deepEqual(source.neo4j.enterprise?.from, ['127.0.0.1:6362', 'neo4j-2.internal:6362']);
    assert.equal(source.neo4j.enterprise?.type, 'diff');
  });

  test('a backup address without a port names the key and an example', () => {
    assert.throws(
      () => parse(['mode: enterprise', 'enterprise:', '  from: ["127.0.0.1"]', '  workDir: w']),
      (e: Error) =>
        e.name === 'ConfigError' &&
        /hbr\.yaml:\d+/.test(e.message) &&
        /enterprise\.from/.test(e.message) &&
        /host:port .* e\.g\. 127\.0\.0\.1:6362/.test(e.message),
    );
  });

  test('a missing workDir, an empty address list, an unknown type and a typo are refused', () => {
    const cases: [string[], RegExp][] = [
      [['enterprise:', '  from: ["h:6362"]'], /workDir/],
      [['enterprise:', '  from: []', '  workDir: w'], /at least one backup address/],
      [['enterprise:', '  from: ["h:6362"]', '  workDir: w', '  type: incremental'], /type/],
      [['enterprise:', '  from: ["h:6362"]', '  workDir: w', '  compres: true'], /compres/],
      [['enterprise:', '  from: ["h:6362"]', '  workDir: w', '  pagecache: lots'], /512m/],
    ];
    for (const [lines, message] of cases) {
      assert.throws(
        () => parse(['mode: enterprise', ...lines]),
        (e: Error) => e.name === 'ConfigError' && message.test(e.message),
        lines.join(' / '),
      );
    }
  });
});

describe('enterprise config: resolution', () => {
  let dir: string;
  let configFile: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-ent-config-'));
    configFile = join(dir, 'hbr.yaml');
    await writeFile(join(dir, 'cred'), 'neo4j\nsecret-pw\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('fills the defaults: auto, system included, neo4j-admin compression off', () => {
    const s = resolveEnterpriseSettings(
      'enterprise',
      { from: ['127.0.0.1:6362'], workDir: 'work' },
      configFile,
      'sources.g.neo4j',
    );
    assert.deepEqual(s, {
      from: ['127.0.0.1:6362'],
      workDir: join(dir, 'work'),
      type: 'auto',
      maxDifferentials: 6,
      includeSystem: true,
      compress: false,
    });
  });

  test('mode enterprise without the block, and the block under another mode, are config errors', () => {
    assert.throws(
      () => resolveEnterpriseSettings('enterprise', undefined, configFile, 'sources.g.neo4j'),
      (e: Error) =>
        e.name === 'ConfigError' &&
        /sources\.g\.neo4j: mode: enterprise needs an enterprise: block with from/.test(e.message),
    );
    assert.throws(
      () =>
        resolveEnterpriseSettings(
          'dump',
          { from: ['h:1'], workDir: '/w' },
          configFile,
          'sources.g.neo4j',
        ),
      /sources\.g\.neo4j\.enterprise: only used with mode: enterprise \(mode is dump\)/,
    );
    assert.equal(resolveEnterpriseSettings('logical', undefined, configFile, 'k'), undefined);
  });

  test('a resolved enterprise source carries its settings', async () => {
    const neo = await resolveNeo4jSource(
      'g',
      {
        home: './home',
        bolt: 'bolt://127.0.0.1:7687',
        database: 'neo4j',
        credentialFile: './cred',
        mode: 'enterprise',
        enterprise: { from: ['127.0.0.1:6362'], workDir: '/var/hbr/neo4j-work', type: 'full' },
      },
      configFile,
      {},
    );
    assert.equal(neo.mode, 'enterprise');
    assert.equal(neo.enterprise?.workDir, '/var/hbr/neo4j-work');
    assert.equal(neo.enterprise?.type, 'full');
    const dump = await resolveNeo4jSource(
      'g',
      {
        home: './home',
        bolt: 'bolt://127.0.0.1:7687',
        database: 'neo4j',
        credentialFile: './cred',
      },
      configFile,
      {},
    );
    assert.equal(dump.enterprise, undefined);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../errors.ts';
import { parseConfig } from './load.ts';

const at = { file: 'hbr.yaml', baseDir: '/etc/hbr' };

/** The message of the ConfigError that parsing `lines` throws. */
function problems(lines: string[]): string {
  try {
    parseConfig(lines.join('\n'), at);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected the config to be rejected');
}

const repo = ['repository:', '  path: /var/backups/hbr'];

void describe('config schema', () => {
  void test('accepts the documented example and fills in defaults', () => {
    const config = parseConfig(
      [
        'repository:',
        '  url: s3://backups/hbr',
        '  keyFile: /etc/hbr/key',
        '  packSize: 33554432',
        '  compression: 6',
        'replicas:',
        '  - { name: offsite, url: "azure://acct/hbr", afterBackup: true }',
        'sources:',
        '  - name: hartonomous-sql',
        '    sqlserver:',
        '      server: localhost',
        '      port: 1433',
        '      database: Hartonomous',
        '      credentialFile: /etc/hbr/sql',
        '      transport: disk',
        '      stagingPath: /var/opt/mssql/backup',
        '      encryption: { algorithm: AES_256, certificate: BackupCert }',
        '      maxTransferSize: 4194304',
        '      stripes: 4',
        '    schedule: { full: "0 2 * * 0", diff: "0 2 * * 1-6", log: "*/15 * * * *" }',
        '    retention: { keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepWithin: 2d12h }',
        '  - name: models',
        '    files: { paths: [/srv/models] }',
        '    schedule: { snapshot: "@daily" }',
        'coordinated:',
        '  - { name: platform, sources: [hartonomous-sql, models], schedule: "0 2 * * *" }',
        'alerts:',
        '  - { rule: no-full-backup, after: 24h, severity: critical }',
        'notify:',
        '  - webhook: { urlFile: /etc/hbr/webhook }',
      ].join('\n'),
      at,
    );
    assert.equal(config.version, 1);
    assert.equal(config.repository?.compression, 6);
    const sql = config.sources?.[0];
    assert.ok(sql?.kind === 'sqlserver');
    assert.equal(sql.sqlserver.checksum, true);
    assert.equal(sql.sqlserver.verify, true);
    assert.equal(sql.retention?.keepWithin, '2d12h');
    assert.equal(config.sources?.[1]?.kind, 'files');
    assert.equal(config.coordinated?.[0]?.schedule, '0 2 * * *');
  });

  void test('a value of the wrong type names its line, column and key path', () => {
    const message = problems([
      ...repo,
      'sources:',
      '  - name: a',
      '    files: { paths: [/x] }',
      '  - name: b',
      '    files: { paths: [/y] }',
      '    retention:',
      '      keepDaily: seven',
    ]);
    assert.equal(
      message,
      'hbr.yaml:9:18: sources[1].retention.keepDaily: expected a number, got text "seven"',
    );
  });

  void test('a bad enum value lists the allowed values', () => {
    const message = problems([
      ...repo,
      'sources:',
      '  - name: s',
      '    sqlserver: { server: h, database: d, credentialFile: c, transport: tape }',
    ]);
    assert.match(
      message,
      /^hbr\.yaml:5:72: sources\[0\]\.sqlserver\.transport: expected one of "url", "disk", got text "tape"$/,
    );
  });

  void test('every problem is reported, one line each, in file order', () => {
    const message = problems([
      'repository:',
      '  path: /r',
      '  packsize: 10',
      'sources:',
      '  - name: s',
      '    files: { paths: [] }',
      'extra: true',
    ]);
    assert.deepEqual(message.split('\n'), [
      'hbr.yaml:3:3: repository.packsize: unknown key "packsize" (did you mean "packSize"?)',
      'hbr.yaml:6:14: sources[0].files.paths: list at least one path',
      'hbr.yaml:7:1: extra: unknown key "extra" (expected one of: version, repository, replicas, sources, coordinated, alerts, notify)',
    ]);
  });

  void test('a missing required key points at the block that lacks it', () => {
    const message = problems([
      ...repo,
      'sources:',
      '  - name: g',
      '    neo4j:',
      '      home: /n',
      '      bolt: bolt://h:7687',
    ]);
    assert.equal(message, 'hbr.yaml:5:5: sources[0].neo4j.database: is required');
  });

  void test('a password written inline is rejected with a pointer to passwordFile', () => {
    const message = problems(['repository:', '  path: /r', '  password: hunter2']);
    assert.equal(
      message,
      'hbr.yaml:3:3: repository.password: secrets are never written in the config: put it in a file readable only by hbr and name that file with "passwordFile"',
    );
    assert.doesNotMatch(message, /hunter2/);
  });

  void test('secrets are rejected even inside loosely typed sections', () => {
    const message = problems([...repo, 'notify:', '  - webhook: { url: "https://x", token: abc }']);
    assert.match(
      message,
      /^hbr\.yaml:4:34: notify\[0\]\.webhook\.token: secrets are never written.*"tokenFile"$/,
    );
  });

  void test('a URL with credentials in it is rejected', () => {
    const message = problems(['repository:', '  url: "s3://AKIA:secret@bucket/x"']);
    assert.match(
      message,
      /^hbr\.yaml:2:8: repository\.url: credentials are never written in the URL/,
    );
  });

  void test('a repository needs exactly one of path and url, and at most one credential', () => {
    assert.equal(
      problems(['repository:', '  passwordFile: /p']),
      'hbr.yaml:1:1: repository: needs either path or url',
    );
    assert.equal(
      problems([
        'repository:',
        '  path: /r',
        '  url: s3://b',
        '  passwordFile: /p',
        '  keyFile: /k',
      ]),
      [
        'hbr.yaml:3:8: repository.url: give either path or url, not both',
        'hbr.yaml:5:12: repository.keyFile: give either passwordFile or keyFile, not both',
      ].join('\n'),
    );
    assert.match(
      problems(['repository:', '  url: ftp://x/y']),
      /repository\.url: expected a URL starting with azure:\/\/, s3:\/\/, file:\/\//,
    );
  });

  void test('a source needs exactly one kind', () => {
    assert.equal(
      problems([...repo, 'sources:', '  - name: nothing', '    schedule: { snapshot: "@daily" }']),
      'hbr.yaml:4:5: sources[0]: needs one of files, sqlserver, neo4j',
    );
    assert.equal(
      problems([
        ...repo,
        'sources:',
        '  - name: two',
        '    files: { paths: [/a] }',
        '    neo4j: { home: /n, bolt: "bolt://h", database: d }',
      ]),
      'hbr.yaml:6:5: sources[0].neo4j: give exactly one of files, sqlserver, neo4j (found files and neo4j)',
    );
  });

  void test('source names must be unique', () => {
    const message = problems([
      ...repo,
      'sources:',
      '  - { name: a, files: { paths: [/a] } }',
      '  - { name: a, files: { paths: [/b] } }',
    ]);
    assert.equal(
      message,
      'hbr.yaml:5:13: sources[1].name: duplicate source name "a" (also sources[0])',
    );
  });

  void test('schedules use the kinds of backup the source has', () => {
    const message = problems([
      ...repo,
      'sources:',
      '  - name: f',
      '    files: { paths: [/a] }',
      '    schedule: { full: "0 1 * * *" }',
    ]);
    assert.equal(
      message,
      'hbr.yaml:6:23: sources[0].schedule.full: a files source is scheduled with "snapshot", not "full"',
    );
    assert.match(
      problems([
        ...repo,
        'sources:',
        '  - name: f',
        '    files: { paths: [/a] }',
        '    schedule: { snapshot: "every day" }',
      ]),
      /sources\[0\]\.schedule\.snapshot: expected a cron expression/,
    );
  });

  void test('a coordinated group with a mistyped key is refused, not taken for a group of none', () => {
    assert.match(
      problems([
        ...repo,
        'sources:',
        '  - { name: a, files: { paths: [/a] } }',
        'coordinated:',
        '  - { name: g, source: [a] }',
      ]),
      /coordinated\[0\]\.source: unknown key "source" \(did you mean "sources"\?\)/,
    );
  });

  void test('a path starting with ~ is refused: it would not be the home folder', () => {
    assert.match(
      problems([...repo, 'sources:', '  - { name: a, files: { paths: [~/models] } }']),
      /sources\[0\]\.files\.paths\[0\]: write the full path: ~ is not expanded here/,
    );
  });

  void test('coordinated groups may only name existing sources', () => {
    const message = problems([
      ...repo,
      'sources:',
      '  - { name: a, files: { paths: [/a] } }',
      'coordinated:',
      '  - { name: g, sources: [a, b] }',
    ]);
    assert.equal(
      message,
      'hbr.yaml:6:29: coordinated[0].sources[1]: no source named "b" in sources',
    );
  });

  void test('numbers are range-checked with the reason', () => {
    assert.match(
      problems(['repository:', '  path: /r', '  packSize: 1000']),
      /repository\.packSize: packSize is in bytes and must be at least 1 MiB/,
    );
    assert.match(
      problems(['repository:', '  path: /r', '  compression: fast']),
      /repository\.compression: expected a zstd level from 1 to 22, or "off"/,
    );
    assert.match(
      problems([
        ...repo,
        'sources:',
        '  - name: s',
        '    sqlserver: { server: h, database: d, credentialFile: c, port: 70000 }',
      ]),
      /sources\[0\]\.sqlserver\.port: must be at most 65535/,
    );
  });

  void test('a version other than 1 is rejected', () => {
    assert.equal(problems(['version: 2', ...repo]), 'hbr.yaml:1:10: version: expected 1, got 2');
  });

  void test('an empty file and a non-mapping are rejected', () => {
    assert.equal(
      problems(['# nothing']),
      'hbr.yaml: the config file is empty (expected at least "repository:" or "sources:")',
    );
    assert.equal(
      problems(['- a', '- b']),
      'hbr.yaml:1:1: expected a mapping (key: value lines), got a list',
    );
  });

  void test('duplicate keys and unresolved aliases are YAML errors', () => {
    assert.match(
      problems(['repository:', '  path: /a', '  path: /b']),
      /^hbr\.yaml:3:3: invalid YAML: Map keys must be unique/,
    );
    assert.match(problems(['repository:', '  path: *nowhere']), /^hbr\.yaml:/);
  });
});

import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createNeo4jAdmin } from './admin.ts';
import type { EnterpriseSettings } from './enterprise-config.ts';
import {
  assertEnterpriseAdmin,
  enterpriseBackupArgs,
  enterpriseRestoreArgs,
} from './enterprise-commands.ts';
import { enterpriseAggregateArgs } from './enterprise-verify.ts';

const settings: EnterpriseSettings = {
  from: ['127.0.0.1:6362', '10.0.0.2:6362'],
  workDir: '/work',
  type: 'auto',
  maxDifferentials: 6,
  includeSystem: true,
  compress: false,
};

describe('enterprise neo4j-admin command lines', () => {
  test('a full backup names every address, the folder, the type and compression', () => {
    assert.deepEqual(enterpriseBackupArgs('neo4j', settings, 'full', '/work/run/db-0'), [
      'database',
      'backup',
      '--from=127.0.0.1:6362,10.0.0.2:6362',
      '--to-path=/work/run/db-0',
      '--type=FULL',
      '--compress=false',
      'neo4j',
    ]);
  });

  test('a differential passes DIFF and the optional metadata and page cache settings', () => {
    const s = { ...settings, compress: true, includeMetadata: 'all', pagecache: '512m' } as const;
    assert.deepEqual(enterpriseBackupArgs('graph', s, 'diff', '/w/d'), [
      'database',
      'backup',
      '--from=127.0.0.1:6362,10.0.0.2:6362',
      '--to-path=/w/d',
      '--type=DIFF',
      '--compress=true',
      '--include-metadata=all',
      '--pagecache=512m',
      'graph',
    ]);
    // neo4j-admin refuses --include-metadata for system.
    assert.ok(
      !enterpriseBackupArgs('system', s, 'diff', '/w/d').some((a) =>
        a.startsWith('--include-metadata'),
      ),
    );
  });

  test('a restore points at the last artifact of the chain and overwrites the database', () => {
    assert.deepEqual(enterpriseRestoreArgs('neo4j', '/s/db-0/neo4j-2026-11-22T05-00-00.backup'), [
      'database',
      'restore',
      '--from-path=/s/db-0/neo4j-2026-11-22T05-00-00.backup',
      '--overwrite-destination=true',
      'neo4j',
    ]);
  });
});

test('aggregation gets the last artifact of the chain and no database name (neo4j-admin wants none with a file)', () => {
  assert.deepEqual(enterpriseAggregateArgs('/s/neo4j-2.backup'), [
    'database',
    'aggregate-backup',
    '--from-path=/s/neo4j-2.backup',
    '--keep-old-backup=false',
  ]);
});

describe('assertEnterpriseAdmin', () => {
  let dir: string;
  const script = async (name: string, body: string) => {
    const file = join(dir, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return createNeo4jAdmin({ home: dir, command: file });
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-ent-cmd-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('accepts a neo4j-admin whose database backup has a usage line', async () => {
    const admin = await script(
      'enterprise',
      '[ "$1 $2 $3" = "database backup --help" ] && echo "Usage: neo4j-admin database backup [-h] [--from=<host:port>]"',
    );
    await assertEnterpriseAdmin(admin);
  });

  test('refuses one that answers with the database command list (as Community does, exit 0)', async () => {
    const admin = await script(
      'community',
      'echo "Usage: neo4j-admin database [COMMAND]"; echo "  dump  Dump a database"',
    );
    await assert.rejects(
      assertEnterpriseAdmin(admin),
      (e: Error) =>
        e.name === 'SourceError' &&
        e.message.includes(join(dir, 'community')) &&
        /no "database backup" command \(Neo4j Community Edition\)/.test(e.message),
    );
  });

  test('a missing neo4j-admin is a SourceError naming the path', async () => {
    const admin = createNeo4jAdmin({ home: dir, command: join(dir, 'nope') });
    await assert.rejects(assertEnterpriseAdmin(admin), /not found or not executable at .*nope/);
  });
});

import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IncompatibleTargetError } from '../../errors.ts';
import type { BackupRecord } from '../../repository/types.ts';
import { createNeo4jAdmin } from './admin.ts';
import type { Neo4jBackupMeta } from './backup.ts';
import { assertTargetCanLoad, storeFormatEdition, versionRefusal } from './restore-target.ts';

describe('versionRefusal', () => {
  test('the same release, a later patch, minor or line from 5.26 on can load the store', () => {
    for (const [backup, target] of [
      ['5.26.30', '5.26.30'],
      ['5.26.0', '5.26.30'],
      ['5.20.0', '5.26.30'],
      ['5.26.30', '2025.01.0'],
      ['2025.06.1', '2026.01.0'],
      ['2025.10.0', '2025.11.0'],
    ] as const)
      assert.equal(versionRefusal(backup, target), undefined, `${backup} into ${target}`);
  });

  test('a later patch of the same minor is not compared', () => {
    assert.equal(versionRefusal('5.26.30', '5.26.17'), undefined);
  });

  test('an older minor or release line is refused, naming both versions', () => {
    for (const [backup, target] of [
      ['5.26.30', '5.25.1'],
      ['2025.01.0', '5.26.30'],
      ['2026.01.0', '2025.12.0'],
      ['2025.11.0', '2025.10.2'],
    ] as const) {
      const why = versionRefusal(backup, target);
      assert.match(why ?? '', new RegExp(`${backup}.*newer release`), `${backup} into ${target}`);
    }
  });

  test('a step Neo4j takes only through 5.26 LTS or a migration is refused', () => {
    for (const [backup, target] of [
      ['5.20.0', '2025.01.0'],
      ['4.4.30', '5.26.30'],
    ] as const)
      assert.match(versionRefusal(backup, target) ?? '', /only through an upgrade to 5\.26 LTS/);
  });

  test('names the release to restore into as Neo4j writes it', () => {
    assert.match(
      versionRefusal('2025.01.0', '5.26.30') ?? '',
      /restore into Neo4j 2025\.01 or later/,
    );
  });

  test('a version that does not parse is refused', () => {
    assert.match(versionRefusal('unknown', '5.26.30') ?? '', /cannot compare/);
  });
});

test('storeFormatEdition: the formats Neo4j has, and the edition each needs', () => {
  assert.equal(storeFormatEdition('record-aligned-1.1'), 'any');
  assert.equal(storeFormatEdition('record-standard-1.1'), 'any');
  assert.equal(storeFormatEdition('record-aligned-1b.0'), 'any');
  assert.equal(storeFormatEdition('record-high_limit-1.1'), 'enterprise');
  assert.equal(storeFormatEdition('block-block-1.1'), 'enterprise');
  assert.equal(storeFormatEdition('record-sparse-1.0'), undefined);
  assert.equal(storeFormatEdition('aligned'), undefined);
  assert.equal(storeFormatEdition('constructor-toString-1.0'), undefined);
});

describe('assertTargetCanLoad', () => {
  let dir: string;
  /** A neo4j-admin of `version` and edition, as a shell script: a real child process. */
  const admin = async (version: string, enterprise: boolean) => {
    const file = join(dir, `neo4j-admin-${version}-${enterprise ? 'ee' : 'ce'}`);
    const usage = enterprise
      ? 'Usage: neo4j-admin database backup [-h] [--from=<host:port>]'
      : 'Usage: neo4j-admin database [COMMAND]';
    await writeFile(
      file,
      `#!/bin/sh\n[ "$1" = --version ] && { echo ${version}; exit 0; }\necho "${usage}"\n`,
    );
    await chmod(file, 0o755);
    return createNeo4jAdmin({ home: dir, command: file });
  };
  const backup = { shortId: 'abcd1234' } as BackupRecord;
  const meta = (mode: Neo4jBackupMeta['mode'], version: string, storeFormat?: string) =>
    ({
      mode,
      version,
      edition: 'community',
      databases: { neo4j: { artifact: 'neo4j.x', kind: 'dump-content', storeFormat } },
      facts: {},
    }) as unknown as Neo4jBackupMeta;
  const refused = (pattern: RegExp) => (error: unknown) =>
    error instanceof IncompatibleTargetError &&
    error.code === 'INCOMPATIBLE_TARGET' &&
    /backup abcd1234 cannot be restored/.test(error.message) &&
    pattern.test(error.message);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-target-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a dump of a newer release is refused, naming both versions', async () => {
    await assert.rejects(
      assertTargetCanLoad(
        backup,
        meta('dump', '5.27.0', 'record-aligned-1.1'),
        ['neo4j'],
        await admin('5.26.30', false),
      ),
      refused(/\(Neo4j 5\.26\.30\): the backup was made by Neo4j 5\.27\.0, a newer release/),
    );
  });

  test('an enterprise backup of a newer release is refused too', async () => {
    await assert.rejects(
      assertTargetCanLoad(
        backup,
        meta('enterprise', '2025.02.0'),
        ['neo4j'],
        await admin('2025.01.0', true),
      ),
      refused(/Neo4j 2025\.02\.0, a newer release/),
    );
  });

  test('a logical backup is not checked', async () => {
    await assertTargetCanLoad(
      backup,
      meta('logical', '2099.01.0'),
      ['neo4j'],
      await admin('5.26.30', false),
    );
  });

  test('an unknown store format is refused; an unrecorded one leaves the version alone to decide', async () => {
    const target = await admin('5.26.30', false);
    await assert.rejects(
      assertTargetCanLoad(backup, meta('dump', '5.26.30', 'record-sparse-1.0'), ['neo4j'], target),
      refused(/store format record-sparse-1\.0, not one Neo4j has \(record-aligned, /),
    );
    await assertTargetCanLoad(backup, meta('dump', '5.26.30'), ['neo4j'], target);
    await assertTargetCanLoad(backup, meta('dump', '5.26.30', 'unknown'), ['neo4j'], target);
  });

  test('an Enterprise-only store format loads into Enterprise, not into Community', async () => {
    const block = meta('dump', '5.26.30', 'block-block-1.1');
    await assertTargetCanLoad(backup, block, ['neo4j'], await admin('5.26.30', true));
    await assert.rejects(
      assertTargetCanLoad(backup, block, ['neo4j'], await admin('5.26.30', false)),
      refused(/block-block-1\.1, which only Neo4j Enterprise Edition loads/),
    );
  });

  test('only the databases being restored are checked', async () => {
    const m = {
      ...meta('dump', '5.26.30', 'record-aligned-1.1'),
      databases: {
        neo4j: { artifact: 'neo4j.x', kind: 'dump-content', storeFormat: 'record-aligned-1.1' },
        system: { artifact: 'system.x', kind: 'dump-content', storeFormat: 'record-sparse-1.0' },
      },
    } as Neo4jBackupMeta;
    const target = await admin('5.26.30', false);
    await assertTargetCanLoad(backup, m, ['neo4j'], target);
    await assert.rejects(
      assertTargetCanLoad(backup, m, ['neo4j', 'system'], target),
      refused(/system/),
    );
  });
});

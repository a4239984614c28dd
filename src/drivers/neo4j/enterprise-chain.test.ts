import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BackupRecord } from '../../repository/types.ts';
import type { Neo4jDatabaseRecord } from './backup.ts';
import { chainOf, enterpriseRecord, planEnterpriseBackup } from './enterprise-chain.ts';

/** A committed backup record of source `source` with the given per-database records. */
function backup(
  id: string,
  finishedAt: string,
  databases: Record<string, Neo4jDatabaseRecord>,
  extra: { source?: string; mode?: string; kind?: string } = {},
): BackupRecord {
  return {
    id: id.padEnd(64, '0'),
    shortId: id.slice(0, 8),
    source: extra.source ?? 'graph',
    kind: extra.kind ?? 'neo4j',
    type: 'full',
    startedAt: finishedAt,
    finishedAt,
    host: 'h',
    paths: ['neo4j'],
    tags: [],
    tree: '',
    summary: { files: 0, bytes: 0, addedBytes: 0, durationMs: 0 },
    meta: { neo4j: { mode: extra.mode ?? 'enterprise', databases, facts: {} } },
  };
}

const full = (artifact: string): Neo4jDatabaseRecord => ({
  artifact,
  kind: 'backup-artifact',
  backupType: 'full',
  chain: [],
});
const diff = (artifact: string, chain: string[]): Neo4jDatabaseRecord => ({
  artifact,
  kind: 'backup-artifact',
  backupType: 'diff',
  chain,
});

describe('planEnterpriseBackup', () => {
  const f1 = backup('aaaa1111', '2026-11-20T01:00:00Z', {
    neo4j: full('neo4j-2026-11-20T01-00-00.backup'),
    system: full('system-2026-11-20T01-00-00.backup'),
  });
  const d1 = backup('bbbb2222', '2026-11-21T01:00:00Z', {
    neo4j: diff('neo4j-2026-11-21T01-00-00.backup', ['neo4j-2026-11-20T01-00-00.backup']),
    system: diff('system-2026-11-21T01-00-00.backup', ['system-2026-11-20T01-00-00.backup']),
  });
  const otherSource = backup(
    'cccc3333',
    '2026-11-22T01:00:00Z',
    { neo4j: full('neo4j-2026-11-22T01-00-00.backup') },
    { source: 'other' },
  );
  const dumpMode = backup(
    'dddd4444',
    '2026-11-22T02:00:00Z',
    { neo4j: { artifact: 'neo4j.dump-content', kind: 'dump-content' } },
    { mode: 'dump' },
  );

  test('auto without an earlier enterprise backup of the source takes a full', () => {
    const plan = planEnterpriseBackup([otherSource, dumpMode], 'graph', ['neo4j'], 'auto');
    assert.equal(plan.type, 'full');
    assert.equal(plan.base, undefined);
    assert.deepEqual(plan.chains, {});
  });

  test('auto extends the newest enterprise backup of the source with its whole chain', () => {
    // Listing order must not matter, and other sources and dump backups are never a base.
    const plan = planEnterpriseBackup(
      [d1, dumpMode, f1, otherSource],
      'graph',
      ['neo4j', 'system'],
      'auto',
    );
    assert.equal(plan.type, 'diff');
    assert.equal(plan.base?.id, d1.id);
    assert.deepEqual(plan.chains, {
      neo4j: ['neo4j-2026-11-20T01-00-00.backup', 'neo4j-2026-11-21T01-00-00.backup'],
      system: ['system-2026-11-20T01-00-00.backup', 'system-2026-11-21T01-00-00.backup'],
    });
  });

  test('auto takes a full once the chain holds maxDifferentials differentials; diff still extends it', () => {
    // d1's chain is full + 1 differential.
    assert.equal(planEnterpriseBackup([f1, d1], 'graph', ['neo4j'], 'auto', 2).type, 'diff');
    assert.equal(planEnterpriseBackup([f1, d1], 'graph', ['neo4j'], 'auto', 1).type, 'full');
    assert.equal(planEnterpriseBackup([f1], 'graph', ['neo4j'], 'auto', 0).type, 'full');
    const forced = planEnterpriseBackup([f1, d1], 'graph', ['neo4j'], 'diff', 1);
    assert.equal(forced.type, 'diff');
    assert.equal(forced.base?.id, d1.id);
  });

  test('full ignores existing chains', () => {
    const plan = planEnterpriseBackup([f1, d1], 'graph', ['neo4j'], 'full');
    assert.equal(plan.type, 'full');
    assert.equal(plan.base, undefined);
  });

  test('a backup lacking one of the databases is not a base', () => {
    const onlyNeo4j = backup('eeee5555', '2026-11-23T01:00:00Z', {
      neo4j: full('neo4j-2026-11-23T01-00-00.backup'),
    });
    const plan = planEnterpriseBackup([f1, d1, onlyNeo4j], 'graph', ['neo4j', 'system'], 'diff');
    assert.equal(plan.base?.id, d1.id);
    const neo4jOnly = planEnterpriseBackup([f1, d1, onlyNeo4j], 'graph', ['neo4j'], 'diff');
    assert.equal(neo4jOnly.base?.id, onlyNeo4j.id);
    assert.deepEqual(neo4jOnly.chains, { neo4j: ['neo4j-2026-11-23T01-00-00.backup'] });
  });

  test('diff with nothing to extend is refused with what to do', () => {
    assert.throws(
      () => planEnterpriseBackup([dumpMode, otherSource], 'graph', ['neo4j'], 'diff'),
      (e: Error) =>
        e.name === 'UsageError' &&
        /no earlier enterprise backup of neo4j/.test(e.message) &&
        /take a full backup first/.test(e.message),
    );
  });
});

describe('enterprise records', () => {
  test('the chain a record restores is its earlier artifacts, full first, then its own', () => {
    const record = {
      artifact: 'c.backup',
      kind: 'backup-artifact',
      backupType: 'diff',
      chain: ['a.backup', 'b.backup'],
    } as const;
    assert.deepEqual(chainOf(record), ['a.backup', 'b.backup', 'c.backup']);
  });

  test('dump and logical records are not enterprise records', () => {
    const meta = {
      mode: 'dump',
      version: '5.26.30',
      edition: 'community',
      databases: { neo4j: { artifact: 'neo4j.dump-content', kind: 'dump-content' } },
      facts: {},
    } as const;
    assert.equal(enterpriseRecord(meta, 'neo4j'), undefined);
    assert.equal(enterpriseRecord(meta, 'missing'), undefined);
  });
});

/**
 * Neo4j through the hbr command line against real Neo4j Community servers (two instances from
 * scripts/services/neo4j.sh: the live one and a scratch one for drills): backup, restore to the
 * backup moment, dry run, drill into the scratch home, verify, damaged backups, wrong password.
 */
import assert from 'node:assert/strict';
import { rm, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { neo4jMeta } from '../../src/drivers/neo4j/backup.ts';
import { toNumber } from '../../src/drivers/neo4j/bolt.ts';
import { artifactRepository, openRepository } from '../../src/repository/index.ts';
import { createLocalStore } from '../../src/stores/local.ts';
import { hbr, summaryOf } from '../helpers/cli.ts';
import {
  claimBackup,
  createProvenanceGraph,
  damageArtifact,
  sampleAtoms,
  schemaNames,
  startNeo4j,
  wipeGraph,
  type Neo4jTestInstance,
} from './helpers.ts';

const ATOMS = 3_000;
const SAMPLE = [0, 17, 1_500, ATOMS - 1];
const SCHEMA = { indexes: ['atom_id', 'atom_kind'], constraints: ['atom_id'] };

describe('hbr with a neo4j source (real servers)', () => {
  let live: Neo4jTestInstance;
  let drill: Neo4jTestInstance;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let sample: unknown[];
  let backupId: string;
  const run = (...args: string[]) => hbr(args, { env, cwd: dir });

  const atomCount = async (neo: Neo4jTestInstance) => {
    await neo.reconnect();
    const { records } = await neo.driver.executeQuery('MATCH (a:Atom) RETURN count(a) AS c');
    return toNumber(records[0]?.get('c'));
  };
  const markers = async (neo: Neo4jTestInstance) => {
    const { records } = await neo.driver.executeQuery('MATCH (m:Marker) RETURN count(m) AS c');
    return toNumber(records[0]?.get('c'));
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-cli-'));
    [live, drill] = await Promise.all([startNeo4j('test-cli'), startNeo4j('test-cli-drill')]);
    await wipeGraph(live.driver);
    await createProvenanceGraph(live.driver, ATOMS);
    sample = await sampleAtoms(live.driver, SAMPLE);
    await wipeGraph(drill.driver);
    await writeFile(join(dir, 'cred'), `${live.bolt.user}\n${live.bolt.password}\n`);
    await writeFile(join(dir, 'bad-cred'), `${live.bolt.user}\nnot-the-password\n`);
    const source = (name: string, cred: string) => `
  - name: ${name}
    neo4j:
      home: ${live.home}
      bolt: ${live.bolt.url}
      database: neo4j
      credentialFile: ${cred}
      checks:
        - name: first atom
          cypher: "MATCH (a:Atom {atomId: 0}) RETURN a.hash"
          expect: h0
        - name: atoms
          cypher: "MATCH (a:Atom) RETURN count(a)"
          expect: ${ATOMS}`;
    const logical = `${source('graph-logical', './cred')}\n      mode: logical`;
    await writeFile(
      join(dir, 'hbr.yaml'),
      `repository:\n  path: ${join(dir, 'repo')}\nsources:${source('graph', './cred')}${source('graph-bad', './bad-cred')}${logical}\n`,
    );
    env = { HBR_CONFIG: join(dir, 'hbr.yaml'), HBR_PASSWORD: 'neo4j cli test' };
    assert.equal((await run('init')).code, 0);
  });

  after(async () => {
    await Promise.all([live?.close(), drill?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('backup --source stops, dumps and restarts Neo4j, and reports downtime and counts', async () => {
    const result = await run('--json', 'backup', '--source', 'graph');
    assert.equal(result.code, 0, result.stderr);
    const s = summaryOf(result);
    backupId = String(s.backupId);
    assert.equal(s.mode, 'dump');
    assert.deepEqual(s.databases, ['neo4j', 'system']);
    assert.ok(Number(s.downtimeMs) > 0);
    assert.ok(Number(s.addedBytes) > 0);
    const facts = s.facts as Record<string, { labels: Record<string, number> }>;
    assert.equal(facts.neo4j?.labels.Atom, ATOMS);
    assert.equal(await atomCount(live), ATOMS, 'the server answers again after the dump');
  });

  test('a wrong password fails clearly and leaves the server running', async () => {
    const result = await run('backup', '--source', 'graph-bad');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /authentication failed for user 'neo4j'/);
    assert.ok((await live.server.pid()) !== undefined);
  });

  test('a wrong repository password fails before the stop and leaves the server running', async () => {
    const before = await live.server.pid();
    const result = await hbr(['backup', '--source', 'graph'], {
      env: { ...env, HBR_PASSWORD: 'not the repository password' },
      cwd: dir,
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /password|key/i);
    assert.ok(before !== undefined);
    assert.equal(await live.server.pid(), before, 'the same server process, never stopped');
  });

  test('restore --dry-run prints the steps and changes nothing', async () => {
    await live.driver.executeQuery('MATCH (a:Atom) WHERE a.atomId >= 1000 DETACH DELETE a');
    await live.driver.executeQuery("MATCH (a:Atom) WHERE a.atomId < 10 SET a.hash = 'changed'");
    await live.driver.executeQuery('DROP INDEX atom_kind');
    const pid = await live.server.pid();
    const result = await run('restore', '--source', 'graph', '--dry-run');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`Would restore backup ${backupId.slice(0, 8)}`));
    assert.match(result.stdout, /database load neo4j --from-stdin --overwrite-destination=true/);
    assert.match(result.stdout, /Cypher check first atom/);
    assert.equal(await live.server.pid(), pid);
    assert.equal(await atomCount(live), 1000);
  });

  test('restore --at brings back the graph of the backup moment and records the checks', async () => {
    const at = new Date(Date.now() + 1000).toISOString();
    const result = await run('--json', 'restore', '--source', 'graph', '--at', at);
    assert.equal(result.code, 0, result.stderr);
    const s = summaryOf(result);
    assert.equal(s.backupId, backupId);
    assert.equal(s.countsOk, true);
    assert.equal(s.ok, true);
    assert.deepEqual(
      (s.checks as { name: string; ok: boolean }[]).map((c) => [c.name, c.ok]),
      [
        ['first atom', true],
        ['atoms', true],
      ],
    );
    assert.equal(await atomCount(live), ATOMS);
    assert.deepEqual(await sampleAtoms(live.driver, SAMPLE), sample);
    assert.deepEqual(await schemaNames(live.driver), SCHEMA);

    const shown = await run('--json', 'verify', backupId, '--show');
    const notes = (JSON.parse(shown.stdout) as { notes: { kind: string; data: { ok: boolean } }[] })
      .notes;
    assert.deepEqual(
      notes.map((n) => [n.kind, n.data.ok]),
      [['restore-check', true]],
    );
  });

  test('restore --at before any backup finds nothing', async () => {
    const result = await run('restore', '--source', 'graph', '--at', '2000-01-01T00:00:00Z');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /no Neo4j backup of source graph finished at or before/);
  });

  test('a drill restore into a scratch home fills it and leaves the live server untouched', async () => {
    await live.driver.executeQuery('CREATE (:Marker {at: datetime()})');
    const pid = await live.server.pid();
    const result = await run('restore', '--source', 'graph', 'latest', '--home', drill.home);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\(drill\)/);
    assert.match(result.stdout, /All post-restore checks passed/);
    assert.equal(await atomCount(drill), ATOMS);
    assert.deepEqual(await sampleAtoms(drill.driver, SAMPLE), sample);
    assert.deepEqual(await schemaNames(drill.driver), SCHEMA);
    assert.equal(await live.server.pid(), pid, 'the live server was not restarted');
    assert.equal(await markers(live), 1, 'the live graph kept its change');
  });

  test('restore refuses --as, --target, --replace and --standby before the live server is touched', async () => {
    // Not a :Marker, which later tests count.
    await live.driver.executeQuery('CREATE (:Sentinel)');
    const sentinels = async () =>
      toNumber(
        (await live.driver.executeQuery('MATCH (s:Sentinel) RETURN count(s) AS c')).records[0]?.get(
          'c',
        ),
      );
    const before = await sentinels();
    const pid = await live.server.pid();
    const flags = [
      ['--as', 'neo4j_copy'],
      ['--target', join(dir, 'elsewhere')],
      ['--replace'],
      ['--standby', join(dir, 'undo.bak')],
    ];
    for (const flag of [...flags, flags.flat()]) {
      const result = await run('restore', '--source', 'graph', 'latest', ...flag);
      assert.equal(result.code, 2, `${flag.join(' ')}: ${result.stderr}`);
      for (const name of flag.filter((f) => f.startsWith('--')))
        assert.match(result.stderr, new RegExp(`${name}\\b.*not supported by a Neo4j restore`));
    }
    assert.equal(await live.server.pid(), pid, 'the live server was not stopped');
    assert.equal(await sentinels(), before, 'the live graph kept its change');
  });

  test('a drill of a backup claiming a newer Neo4j release is refused before the scratch server is stopped', async () => {
    const repo = artifactRepository(
      await openRepository(createLocalStore({ path: join(dir, 'repo') }), {
        kind: 'password',
        password: String(env.HBR_PASSWORD),
      }),
    );
    const real = await repo.findBackup(backupId);
    const [major, minor] = drill.version.split('.').map(Number);
    const newer = `${major}.${minor! + 1}.0`;
    const claimed = await claimBackup(repo, real, { ...neo4jMeta(real), version: newer });
    const pid = await drill.server.pid();
    assert.ok(pid !== undefined);
    const result = await run('restore', '--source', 'graph', claimed.id, '--home', drill.home);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`\\(Neo4j ${drill.version}\\): the backup was made by Neo4j ${newer}`),
    );
    assert.equal(await drill.server.pid(), pid, 'the scratch server was not stopped');
    assert.equal(await atomCount(drill), ATOMS);
  });

  test('verify checks the rebuilt dumps, compares counts in a scratch server and stores a passing result', async () => {
    const result = await run('--json', 'verify', backupId, '--home', drill.home);
    assert.equal(result.code, 0, result.stderr);
    const s = summaryOf(result);
    assert.equal(s.ok, true);
    assert.deepEqual(
      (s.databases as { database: string; ok: boolean; method: string }[]).map((d) => [
        d.database,
        d.method,
        d.ok,
      ]),
      [
        ['neo4j', 'consistency-check', true],
        ['system', 'consistency-check', true],
      ],
    );
    const d = s.drill as { countsOk: boolean; checks: { ok: boolean }[] };
    assert.equal(d.countsOk, true);
    assert.deepEqual(
      d.checks.map((c) => c.ok),
      [true, true],
    );
    const shown = await run('verify', backupId, '--show');
    assert.match(shown.stdout, /verification {2}passed/);
  });

  test('a logical backup has no downtime, and verify counts its export against the record', async () => {
    const pid = await live.server.pid();
    const backup = await run('--json', 'backup', '--source', 'graph-logical');
    assert.equal(backup.code, 0, backup.stderr);
    const s = summaryOf(backup);
    assert.equal(s.mode, 'logical');
    assert.equal(s.downtimeMs, null);
    assert.equal(await live.server.pid(), pid, 'the server kept running');
    const verify = await run('--json', 'verify', String(s.backupId));
    assert.equal(verify.code, 0, verify.stderr);
    const v = summaryOf(verify);
    assert.equal(v.ok, true);
    assert.deepEqual(
      (v.databases as { method: string; ok: boolean }[]).map((d) => [d.method, d.ok]),
      [['export-counts', true]],
    );
  });

  test('a logical backup taken while writes run exits 3 with a warning; verify and a restore of it say its counts were not compared', async () => {
    // Unconnected nodes, written from before the backup starts until it ends: its counts move,
    // but every relationship of the export has its end nodes, so it restores.
    let writing = true;
    const writer = (async () => {
      while (writing) await live.driver.executeQuery('CREATE (:Hot {at: datetime()})');
    })();
    await live.driver.executeQuery('CREATE (:Hot {at: datetime()})');
    let backup;
    try {
      backup = await run('--json', 'backup', '--source', 'graph-logical');
    } finally {
      writing = false;
      await writer;
    }
    assert.equal(backup.code, 3, backup.stderr);
    assert.match(
      backup.stderr,
      /neo4j: the graph changed while it was exported: the backup is not a point in time and may not restore; take a dump backup/,
    );
    const s = summaryOf(backup);
    assert.equal((s.warnings as string[]).length, 1);
    const id = String(s.backupId);

    const verify = await run('verify', id);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /OK: {7}neo4j: export-counts: .*counts not compared/);

    await wipeGraph(drill.driver);
    const restore = await run('restore', '--source', 'graph-logical', id, '--home', drill.home);
    assert.equal(restore.code, 0, restore.stdout + restore.stderr);
    assert.match(restore.stdout, /Counts: {3}neo4j: \d+ nodes, \d+ relationships — not compared/);
    assert.doesNotMatch(restore.stdout, /equal to the backup/);
  });

  test('a damaged pack makes verify fail and restore refuse before stopping the server', async () => {
    await damageArtifact(join(dir, 'repo'), String(env.HBR_PASSWORD), backupId, /^neo4j\b/);

    const verify = await run('--json', 'verify', backupId);
    assert.equal(verify.code, 4, verify.stderr);
    assert.equal(summaryOf(verify).ok, false);

    const pid = await live.server.pid();
    const restore = await run('restore', '--source', 'graph', backupId, '--include-system');
    assert.equal(restore.code, 4, restore.stdout);
    assert.match(restore.stderr, /refusing to restore/);
    assert.equal(await live.server.pid(), pid);
    assert.equal(await markers(live), 1);
  });
});

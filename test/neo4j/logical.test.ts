/**
 * Online logical export/import over Bolt against a real Neo4j Community server, plus Bolt
 * authentication failures.
 */
import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { IntegrityError, SourceError } from '../../src/errors.ts';
import { openBolt, toNumber } from '../../src/drivers/neo4j/bolt.ts';
import { readGraphFacts, type GraphFacts } from '../../src/drivers/neo4j/facts.ts';
import { backupNeo4j, neo4jMeta } from '../../src/drivers/neo4j/backup.ts';
import { exportWarning } from '../../src/drivers/neo4j/export-consistency.ts';
import { exportGraph } from '../../src/drivers/neo4j/logical-export.ts';
import { importGraph } from '../../src/drivers/neo4j/logical-import.ts';
import { restoreNeo4j } from '../../src/drivers/neo4j/restore.ts';
import { createNeo4jServer } from '../../src/drivers/neo4j/server.ts';
import { verifyNeo4jSourceBackup } from '../../src/drivers/neo4j/verify-source.ts';
import {
  createProvenanceGraph,
  sampleAtoms,
  schemaNames,
  startNeo4j,
  wipeGraph,
  type Neo4jTestInstance,
  newArtifactRepository,
  writeDuringExport,
} from './helpers.ts';

const ATOMS = 10_000;
const SAMPLE = [0, 17, 5000, ATOMS - 1];
/** Every property type Neo4j stores, on one node, read back as text for comparison. */
const TYPES_QUERY = `MATCH (t:Types) WITH t, keys(t) AS ks UNWIND ks AS k WITH t, k ORDER BY k
  WITH t, collect([k, valueType(t[k])]) AS kinds RETURN kinds + [properties(t)] AS v`;

describe('neo4j logical export and import (real server)', () => {
  let neo: Neo4jTestInstance;
  let dir: string;
  let facts: GraphFacts;
  let sample: unknown[];
  let schema: { indexes: string[]; constraints: string[] };
  let types: unknown;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-logical-'));
    neo = await startNeo4j('test-logical');
    await wipeGraph(neo.driver);
    await createProvenanceGraph(neo.driver, ATOMS);
    await neo.driver.executeQuery(
      `CREATE (:Types {i: 42, big: 9007199254740993, f: 1.0, f2: 2.5, s: 'ünïcode "q"', b: true,
         ints: [1, 2, 3], floats: [1.5, 2.0], strs: ['a', 'b'], bools: [true, false],
         d: date('2024-02-29'), dt: datetime('2024-03-01T12:34:56.789123456+02:00'),
         dtz: datetime('2024-03-01T12:34:56[Europe/Berlin]'), ldt: localdatetime('2024-03-01T01:02:03'),
         t: time('10:11:12+01:00'), lt: localtime('10:11:12.5'), dur: duration('P1Y2M3DT4H5M6.7S'),
         p: point({x: 1.5, y: 2.5}), p3: point({longitude: 13.4, latitude: 52.5, height: 30}),
         bytes: $bytes})-[:SELF {w: 0.5}]->(:Lonely)`,
      // Cypher has no byte[] literal: a byte array comes only as a parameter (an Int8Array).
      { bytes: Int8Array.from([0, 1, -1, 127, -128]) },
    );
    facts = await readGraphFacts(neo.driver, neo.bolt, 'neo4j');
    sample = await sampleAtoms(neo.driver, SAMPLE);
    schema = await schemaNames(neo.driver);
    types = (await neo.driver.executeQuery(TYPES_QUERY)).records[0]?.get('v');
  });

  /** Nodes still carrying a temporary import label or id property, and import constraints. */
  const importMarks = async () => {
    const { records } = await neo.driver.executeQuery(
      `MATCH (n) WHERE any(l IN labels(n) WHERE l STARTS WITH '__HbrImport_')
         OR any(k IN keys(n) WHERE k STARTS WITH '__hbrId_') RETURN count(n) AS c`,
    );
    const { records: cs } = await neo.driver.executeQuery(
      "SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH 'hbr_import_id_' RETURN name",
    );
    return {
      nodes: toNumber(records[0]?.get('c')),
      constraints: cs.map((r) => String(r.get('name'))),
    };
  };
  const countNodes = async () =>
    toNumber(
      (await neo.driver.executeQuery('MATCH (n) RETURN count(n) AS c')).records[0]?.get('c'),
    );

  after(async () => {
    await neo?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('an export imported into an emptied database gives back the same graph, properties, types and schema', async () => {
    const file = join(dir, 'graph.jsonl');
    await pipeline(exportGraph(neo.driver, neo.bolt), createWriteStream(file));
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    assert.equal((JSON.parse(lines[0]!) as { type: string }).type, 'header');
    assert.deepEqual(JSON.parse(lines.at(-1)!), {
      type: 'end',
      nodes: facts.nodes,
      relationships: facts.relationships,
    });

    await wipeGraph(neo.driver);
    assert.equal((await readGraphFacts(neo.driver, neo.bolt, 'neo4j')).nodes, 0);
    const result = await importGraph(neo.driver, neo.bolt, createReadStream(file), {
      batchSize: 2000,
    });
    assert.equal(result.nodes, facts.nodes);
    assert.equal(result.relationships, facts.relationships);

    const imported = await readGraphFacts(neo.driver, neo.bolt, 'neo4j');
    assert.deepEqual(
      { ...imported, lastCommittedTxId: null },
      { ...facts, lastCommittedTxId: null },
    );
    assert.deepEqual(await sampleAtoms(neo.driver, SAMPLE), sample);
    assert.deepEqual(await schemaNames(neo.driver), schema);
    assert.deepEqual((await neo.driver.executeQuery(TYPES_QUERY)).records[0]?.get('v'), types);
    const { records } = await neo.driver.executeQuery(
      "MATCH (n) WHERE any(l IN labels(n) WHERE l STARTS WITH '__HbrImport') RETURN count(n) AS c",
    );
    assert.equal(toNumber(records[0]?.get('c')), 0, 'temporary import label removed');
  });

  test('import refuses a database that is not empty', async () => {
    await assert.rejects(
      importGraph(neo.driver, neo.bolt, [
        Buffer.from('{"type":"header","format":"hbr-neo4j-logical"}\n'),
      ]),
      (error: unknown) => error instanceof SourceError && /not empty/.test(error.message),
    );
  });

  test('import refuses a database whose nodes are gone but whose indexes and constraints are left, before writing anything', async () => {
    await neo.driver.executeQuery('MATCH (n) DETACH DELETE n');
    await assert.rejects(
      importGraph(neo.driver, neo.bolt, createReadStream(join(dir, 'graph.jsonl'))),
      (error: unknown) =>
        error instanceof SourceError &&
        /no nodes but has constraint atom_id, index atom_kind/.test(error.message),
    );
    const { records } = await neo.driver.executeQuery('MATCH (n) RETURN count(n) AS c');
    assert.equal(toNumber(records[0]?.get('c')), 0, 'nothing was written');
  });

  test('import of a truncated export fails and says so', async () => {
    await wipeGraph(neo.driver);
    const truncated =
      '{"type":"header","format":"hbr-neo4j-logical","version":1}\n{"type":"node","id":"x","labels":["A"],"props":{}}\n';
    await assert.rejects(
      importGraph(neo.driver, neo.bolt, [Buffer.from(truncated)]),
      (error: unknown) => error instanceof SourceError && /truncated/.test(error.message),
    );
  });

  test('an import that fails midway removes its temporary label, property and constraint, and a second import is refused only for the data imported', async () => {
    await wipeGraph(neo.driver);
    const header = '{"type":"header","format":"hbr-neo4j-logical","version":1}\n';
    const nodes = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({ type: 'node', id: `n${from + i}`, labels: ['A'], props: {} }),
      ).join('\n') + '\n';
    // Nodes in two batches, then a relationship to a node the export lacks: the import fails
    // after it wrote the nodes.
    const dangling = JSON.stringify({ type: 'rel', rel: 'R', start: 'n0', end: 'gone', props: {} });
    await assert.rejects(
      importGraph(neo.driver, neo.bolt, [Buffer.from(header + nodes(0, 1500) + dangling + '\n')], {
        batchSize: 1000,
      }),
      (error: unknown) =>
        error instanceof SourceError && /reference nodes missing/.test(error.message),
    );
    assert.deepEqual(await importMarks(), { nodes: 0, constraints: [] });
    assert.equal(await countNodes(), 1500, 'the nodes imported before the failure stay');
    await assert.rejects(
      importGraph(neo.driver, neo.bolt, createReadStream(join(dir, 'graph.jsonl'))),
      (error: unknown) =>
        error instanceof SourceError && /the database is not empty;/.test(error.message),
    );
    // What the refusal asks for is enough: no constraint or index of the failed import is left.
    await neo.driver.executeQuery('MATCH (n) DETACH DELETE n');
    const again = await importGraph(
      neo.driver,
      neo.bolt,
      createReadStream(join(dir, 'graph.jsonl')),
    );
    assert.equal(again.nodes, facts.nodes);
    assert.deepEqual(await importMarks(), { nodes: 0, constraints: [] });
  });

  test('an import whose input fails after its first batches (a damaged later chunk) or that is cancelled leaves no temporary marks', async () => {
    const header = '{"type":"header","format":"hbr-neo4j-logical","version":1}\n';
    const nodes = Array.from({ length: 2500 }, (_, i) =>
      JSON.stringify({ type: 'node', id: `n${i}`, labels: ['B'], props: { i } }),
    ).join('\n');
    const damaged = new IntegrityError('[repository] neo4j.jsonl: chunk 2 fails authentication');
    function* damagedLater(): Generator<Buffer> {
      yield Buffer.from(`${header}${nodes}\n`);
      throw damaged;
    }
    await wipeGraph(neo.driver);
    await assert.rejects(
      importGraph(neo.driver, neo.bolt, damagedLater(), { batchSize: 1000 }),
      (error: unknown) => error === damaged,
    );
    assert.deepEqual(await importMarks(), { nodes: 0, constraints: [] });

    await wipeGraph(neo.driver);
    const cancel = new AbortController();
    function* cancelledLater(): Generator<Buffer> {
      yield Buffer.from(`${header}${nodes}\n`);
      cancel.abort(new Error('cancelled by the test'));
      yield Buffer.from(`${header}${nodes}\n`);
    }
    await assert.rejects(
      importGraph(neo.driver, neo.bolt, cancelledLater(), {
        batchSize: 1000,
        signal: cancel.signal,
      }),
      /cancelled by the test/,
    );
    assert.deepEqual(await importMarks(), { nodes: 0, constraints: [] });
  });

  test('when the cleanup after a failed import fails too, the import error is thrown and the warning names what is left and how to remove it', async () => {
    await wipeGraph(neo.driver);
    const header = '{"type":"header","format":"hbr-neo4j-logical","version":1}\n';
    const nodes = Array.from({ length: 1500 }, (_, i) =>
      JSON.stringify({ type: 'node', id: `n${i}`, labels: ['C'], props: {} }),
    ).join('\n');
    // The connection goes away while the input is read: the last batch, and then the cleanup,
    // cannot reach the server.
    const driver = openBolt(neo.bolt);
    async function* connectionLost(): AsyncGenerator<Buffer> {
      yield Buffer.from(`${header}${nodes}\n`);
      await driver.close();
    }
    const warnings: SourceError[] = [];
    await assert.rejects(
      importGraph(driver, neo.bolt, connectionLost(), {
        batchSize: 1000,
        onCleanupError: (error) => warnings.push(error),
      }),
      SourceError,
    );
    assert.equal(warnings.length, 1);
    const remove = /remove them with `([^`]+)` and `([^`]+)`/.exec(warnings[0]?.message ?? '');
    assert.ok(remove, warnings[0]?.message);
    assert.equal((await importMarks()).constraints.length, 1, 'the constraint is left');
    await neo.driver.executeQuery(remove[1]!);
    await neo.driver.executeQuery(remove[2]!);
    assert.deepEqual(await importMarks(), { nodes: 0, constraints: [] });
  });

  test('an input that fails after the import has failed already does not crash the process', async () => {
    await wipeGraph(neo.driver);
    const header = '{"type":"header","format":"hbr-neo4j-logical","version":1}\n';
    const node = JSON.stringify({ type: 'node', id: 'a', labels: ['D'], props: {} });
    const dangling = JSON.stringify({ type: 'rel', rel: 'R', start: 'a', end: 'gone', props: {} });
    let importFailed!: () => void;
    const failed = new Promise<void>((resolve) => (importFailed = resolve));
    let inputFailed!: () => void;
    const thrown = new Promise<void>((resolve) => (inputFailed = resolve));
    // The rest of the artifact is damaged, and its read fails once the import has given up.
    async function* failsLater(): AsyncGenerator<Buffer> {
      yield Buffer.from(`${header}${node}\n${dangling}\n`);
      await failed;
      inputFailed();
      throw new IntegrityError('[repository] neo4j.jsonl: chunk 2 fails authentication');
    }
    await assert.rejects(
      importGraph(neo.driver, neo.bolt, failsLater(), { batchSize: 1 }),
      /reference nodes missing/,
    );
    importFailed();
    await thrown;
    // An error event without a listener would surface as an uncaught exception by now.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await importMarks(), { nodes: 0, constraints: [] });
  });

  test('labels and types named like Object members (__proto__, constructor, toString) are counted, verified and restored', async () => {
    await wipeGraph(neo.driver);
    await neo.driver.executeQuery(
      'CREATE (:constructor)-[:toString]->(:Ok), (:`__proto__`), (:hasOwnProperty)-[:`__proto__`]->(:Ok)',
    );
    const read = await readGraphFacts(neo.driver, neo.bolt, 'neo4j');
    assert.deepEqual(Object.entries(read.labels), [
      ['Ok', 2],
      ['__proto__', 1],
      ['constructor', 1],
      ['hasOwnProperty', 1],
    ]);
    assert.deepEqual(Object.entries(read.relationshipTypes), [
      ['__proto__', 1],
      ['toString', 1],
    ]);
    const repo = await newArtifactRepository(dir);
    const options = { server: neo.server, admin: neo.admin, bolt: neo.bolt };
    const backup = await backupNeo4j({ repo, source: 'graph', mode: 'logical', ...options });
    const verified = await verifyNeo4jSourceBackup({
      repo,
      backup: await repo.findBackup(backup.id),
      admin: neo.admin,
      scratch: dir,
    });
    assert.equal(verified.ok, true, JSON.stringify(verified.databases));
    await wipeGraph(neo.driver);
    const restored = await restoreNeo4j({ repo, backupId: backup.id, ...options });
    assert.deepEqual(restored.facts.neo4j?.labels, read.labels);
  });

  test('a logical backup taken while writes run says so: relationships to nodes written during the export make it unrestorable, and verify says it cannot be restored', async () => {
    await wipeGraph(neo.driver);
    await createProvenanceGraph(neo.driver, ATOMS);
    const repo = await newArtifactRepository(await mkdtemp(join(dir, 'writes-')));
    const options = { server: neo.server, admin: neo.admin, bolt: neo.bolt };
    // After the export read its nodes: new nodes, each with a relationship to an old one.
    const linked = writeDuringExport(repo, async () => {
      await neo.driver.executeQuery(
        'UNWIND range(1, 50) AS i MATCH (a:Atom {atomId: i}) CREATE (:Late {i: i})-[:LINK]->(a)',
      );
    });
    const backup = await backupNeo4j({
      repo: linked,
      source: 'graph',
      mode: 'logical',
      ...options,
    });
    const record = neo4jMeta(backup).databases.neo4j!;
    assert.equal(record.countsStable, false);
    const dangling = record.danglingRelationships ?? 0;
    assert.ok(dangling > 0, 'the manifest counts the relationships whose end nodes are missing');
    assert.match(exportWarning('neo4j', record) ?? '', /cannot be restored; take a dump backup/);
    const verified = await verifyNeo4jSourceBackup({
      repo,
      backup,
      admin: neo.admin,
      scratch: dir,
    });
    assert.equal(verified.ok, false);
    assert.equal(
      verified.databases[0]?.detail,
      `cannot be restored: ${dangling} relationship(s) reference nodes missing from the export (written while it ran)`,
    );
    // The verdict is the restore's.
    await wipeGraph(neo.driver);
    await assert.rejects(
      restoreNeo4j({ repo, backupId: backup.id, ...options }),
      /reference nodes missing from the export/,
    );
  });

  test('a logical backup taken while unconnected nodes are written is not a point in time, but verify passes it without comparing the counts, and it restores', async () => {
    await wipeGraph(neo.driver);
    await createProvenanceGraph(neo.driver, 3_000);
    const repo = await newArtifactRepository(await mkdtemp(join(dir, 'loose-')));
    const options = { server: neo.server, admin: neo.admin, bolt: neo.bolt };
    const loose = writeDuringExport(repo, async () => {
      await neo.driver.executeQuery('UNWIND range(1, 50) AS i CREATE (:Loose {i: i})');
    });
    const backup = await backupNeo4j({ repo: loose, source: 'graph', mode: 'logical', ...options });
    const record = neo4jMeta(backup).databases.neo4j!;
    assert.equal(record.countsStable, false);
    assert.equal(record.danglingRelationships, undefined);
    assert.match(exportWarning('neo4j', record) ?? '', /not a point in time and may not restore/);
    const verified = await verifyNeo4jSourceBackup({
      repo,
      backup,
      admin: neo.admin,
      scratch: dir,
    });
    assert.equal(verified.ok, true, JSON.stringify(verified.databases));
    assert.match(verified.databases[0]?.detail ?? '', /counts not compared/);
    await wipeGraph(neo.driver);
    const restored = await restoreNeo4j({ repo, backupId: backup.id, ...options });
    assert.equal(restored.facts.neo4j?.labels.Atom, 3_000);
  });

  test('an export of nodes with large properties imports in batches the server can hold', async () => {
    // One at a time: a transaction deleting them all is over the server's memory limit too.
    const deleteBig = async () => {
      for (;;) {
        const { records } = await neo.driver.executeQuery(
          'MATCH (b:Big) WITH b LIMIT 1 DELETE b RETURN count(*) AS c',
        );
        if (toNumber(records[0]?.get('c')) === 0) break;
      }
    };
    await deleteBig();
    await wipeGraph(neo.driver);
    // 30 × 10 MiB in one transaction failed with OutOfDirectMemoryError on the server.
    for (let i = 0; i < 30; i++) {
      await neo.driver.executeQuery(
        "CREATE (:Big {i: $i, s: reduce(s = '0123456789', k IN range(1, 20) | s + s)})",
        { i },
      );
    }
    const file = join(dir, 'big.jsonl');
    await pipeline(exportGraph(neo.driver, neo.bolt), createWriteStream(file));
    await deleteBig();
    const result = await importGraph(neo.driver, neo.bolt, createReadStream(file)).finally(() =>
      rm(file),
    );
    assert.equal(result.nodes, 30);
    const { records } = await neo.driver.executeQuery(
      'MATCH (b:Big) RETURN count(b) AS c, min(size(b.s)) AS min',
    );
    assert.equal(toNumber(records[0]?.get('c')), 30);
    assert.equal(toNumber(records[0]?.get('min')), 10 * 2 ** 20);
    await deleteBig();
  });

  test('a graph that uses the names of the old temporary import label and key keeps them', async () => {
    await wipeGraph(neo.driver);
    await neo.driver.executeQuery(
      "CREATE (:__HbrImport {__hbrId: 'mine', x: 1})-[:R]->(:Other {__hbrId: 7}), (:Other {__hbrId: 8})",
    );
    const file = join(dir, 'names.jsonl');
    await pipeline(exportGraph(neo.driver, neo.bolt), createWriteStream(file));
    await wipeGraph(neo.driver);
    const result = await importGraph(neo.driver, neo.bolt, createReadStream(file));
    assert.deepEqual(
      { nodes: result.nodes, relationships: result.relationships },
      { nodes: 3, relationships: 1 },
    );
    const { records } = await neo.driver.executeQuery(
      'MATCH (a)-[:R]->(b) RETURN labels(a) AS la, a.__hbrId AS ia, labels(b) AS lb, b.__hbrId AS ib',
    );
    assert.deepEqual(
      records.map((r): unknown[] => [
        r.get('la') as unknown,
        r.get('ia') as unknown,
        r.get('lb') as unknown,
        toNumber(r.get('ib')),
      ]),
      [[['__HbrImport'], 'mine', ['Other'], 7]],
    );
  });

  test('a wrong password fails clearly, at once, naming the user', async () => {
    const bolt = { ...neo.bolt, password: 'not-the-password' };
    const driver = openBolt(bolt);
    try {
      await assert.rejects(
        readGraphFacts(driver, bolt, 'neo4j'),
        (error: unknown) =>
          error instanceof SourceError &&
          /authentication failed for user 'neo4j'/.test(error.message),
      );
      const server = createNeo4jServer({ home: neo.home, bolt });
      await assert.rejects(
        server.waitForBolt({ timeoutMs: 60_000 }),
        (error: unknown) => error instanceof SourceError && /wrong password/.test(error.message),
      );
    } finally {
      await driver.close();
    }
  });
});

/**
 * The benchmark's graph: provenance-like `:Atom` nodes (unique `atomId`, indexed `kind`, a random
 * string payload that compresses about as badly as real hashes do), `:Source` nodes, two
 * DERIVED_FROM edges and one FROM_SOURCE edge per atom. Generated with batched `UNWIND` Cypher.
 * @module
 */
import neo4j, { type Driver } from 'neo4j-driver';
import { toNumber } from '../../src/drivers/neo4j/bolt.ts';

/** Atoms per generation transaction (stays well under the instance's 256 MB transaction memory). */
const BATCH = 5_000;

/** Size of the generated graph. */
export interface GraphShape {
  readonly atoms: number;
  /** UUIDs (36 characters each) concatenated into each atom's payload. */
  readonly payloadUuids: number;
}

/** Counts of the graph as it is. */
export interface GraphCounts {
  readonly atoms: number;
  readonly nodes: number;
  readonly relationships: number;
}

/** Counts atoms, nodes and relationships (count store: instant). */
export async function countGraph(driver: Driver): Promise<GraphCounts> {
  const one = async (q: string): Promise<number> =>
    toNumber((await driver.executeQuery(q)).records[0]?.get('c'));
  return {
    atoms: await one('MATCH (a:Atom) RETURN count(a) AS c'),
    nodes: await one('MATCH (n) RETURN count(n) AS c'),
    relationships: await one('MATCH ()-[r]->() RETURN count(r) AS c'),
  };
}

/**
 * The shape recorded by a previous generation (a `:BenchMeta` node), so that a rerun with the same
 * `--atoms` reuses the graph; undefined when there is none.
 */
export async function recordedShape(driver: Driver): Promise<GraphShape | undefined> {
  const { records } = await driver.executeQuery(
    'MATCH (m:BenchMeta) RETURN m.atoms AS atoms, m.payloadUuids AS p LIMIT 1',
  );
  const r = records[0];
  return r ? { atoms: toNumber(r.get('atoms')), payloadUuids: toNumber(r.get('p')) } : undefined;
}

/** Deletes everything, including the schema, in batches. */
export async function wipe(driver: Driver, log: (m: string) => void): Promise<void> {
  for (;;) {
    const { records } = await driver.executeQuery(
      'MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c',
    );
    if (toNumber(records[0]?.get('c')) === 0) break;
  }
  for (const r of (await driver.executeQuery('SHOW CONSTRAINTS YIELD name')).records)
    await driver.executeQuery(`DROP CONSTRAINT \`${String(r.get('name'))}\``);
  const indexes = await driver.executeQuery("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP'");
  for (const r of indexes.records)
    await driver.executeQuery(`DROP INDEX \`${String(r.get('name'))}\``);
  log('graph wiped');
}

/** Creates the schema and the graph; `log` gets progress about every 10%. */
export async function generate(
  driver: Driver,
  shape: GraphShape,
  log: (m: string) => void,
  signal: AbortSignal,
): Promise<void> {
  await driver.executeQuery(
    'CREATE CONSTRAINT atom_id IF NOT EXISTS FOR (a:Atom) REQUIRE a.atomId IS UNIQUE',
  );
  await driver.executeQuery('CREATE INDEX atom_kind IF NOT EXISTS FOR (a:Atom) ON (a.kind)');
  await driver.executeQuery(
    'CREATE CONSTRAINT source_id IF NOT EXISTS FOR (s:Source) REQUIRE s.sourceId IS UNIQUE',
  );
  await driver.executeQuery('CALL db.awaitIndexes(120)');
  const sources = Math.max(1, Math.floor(shape.atoms / 1000));
  await driver.executeQuery(
    'UNWIND range(0, $n - 1) AS i CREATE (:Source {sourceId: i, uri: "https://example.org/src/" + i})',
    { n: sources },
  );
  let nextLog = 0;
  for (let from = 0; from < shape.atoms; from += BATCH) {
    signal.throwIfAborted();
    // The planner puts an Eager between CREATE and the MATCHes, so atoms of the same batch are
    // found as parents; earlier batches are committed.
    await driver.executeQuery(
      `UNWIND range($from, $to) AS i
       CREATE (a:Atom {atomId: i, kind: 'k' + (i % 13), hash: 'sha256:' + randomUUID(),
                       weight: i * 0.25, tags: ['t' + (i % 5), 'prov'], valid: i % 2 = 0,
                       createdAt: datetime({epochSeconds: 1700000000 + i}),
                       payload: reduce(s = '', x IN range(1, $uuids) | s + randomUUID())})
       WITH a, i
       MATCH (s:Source {sourceId: i % $sources})
       CREATE (a)-[:FROM_SOURCE {at: i}]->(s)
       WITH a, i WHERE i > 0
       MATCH (p:Atom {atomId: i - 1}), (q:Atom {atomId: i / 2})
       CREATE (a)-[:DERIVED_FROM {step: 1}]->(p), (a)-[:DERIVED_FROM {step: 2}]->(q)`,
      {
        from,
        to: Math.min(shape.atoms, from + BATCH) - 1,
        sources,
        uuids: shape.payloadUuids,
      },
    );
    if (from >= nextLog) {
      log(`generated ${from + BATCH} / ${shape.atoms} atoms`);
      nextLog += Math.max(BATCH, Math.ceil(shape.atoms / 10));
    }
  }
  await driver.executeQuery('CREATE (:BenchMeta {atoms: $atoms, payloadUuids: $p})', {
    atoms: shape.atoms,
    p: shape.payloadUuids,
  });
}

/**
 * Changes 1% of the atoms (`atomId % 100 = round % 100`, so every round picks other atoms): sets
 * `revision` and rewrites `kind` (an indexed property) to values no earlier benchmark wrote (a
 * reused graph already holds the values of its earlier rounds, and Neo4j skips a `SET` to the
 * same value). Returns how many atoms changed.
 */
export async function changeOnePercent(
  driver: Driver,
  round: number,
  stamp: number = Date.now(),
): Promise<number> {
  const { records } = await driver.executeQuery(
    `MATCH (a:Atom) WHERE a.atomId % 100 = $r
     SET a.revision = $stamp, a.kind = 'rev' + $stamp
     RETURN count(a) AS c`,
    // An integer: a plain JS number would be sent as a float.
    { r: round % 100, stamp: neo4j.int(stamp) },
  );
  return toNumber(records[0]?.get('c'));
}

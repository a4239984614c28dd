/**
 * Offline physical backup against a real Neo4j Community server: dump streamed through
 * unwrap/rewrap, data changed, dump loaded back, graph equal to the dump moment; consistency
 * check of good and corrupted dumps.
 */
import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { SourceError } from '../../src/errors.ts';
import { dumpDatabase, loadDatabase } from '../../src/drivers/neo4j/dump-stream.ts';
import {
  parseDumpMetadata,
  unwrapDump,
  wrapDump,
  type DumpFormat,
} from '../../src/drivers/neo4j/dump-format.ts';
import { readGraphFacts, type GraphFacts } from '../../src/drivers/neo4j/facts.ts';
import { assertStoreCleanlyStopped } from '../../src/drivers/neo4j/store-state.ts';
import {
  autoCommit,
  createProvenanceGraph,
  sampleAtoms,
  schemaNames,
  startNeo4j,
  wipeGraph,
  type Neo4jTestInstance,
} from './helpers.ts';
import { corruptTarEntry } from './tar-patch.ts';

const ATOMS = 20_000;
const SAMPLE = [0, 1, 4321, 9999, ATOMS - 1];

describe('neo4j offline dump and load (real server)', () => {
  let neo: Neo4jTestInstance;
  let dir: string;
  let facts: GraphFacts;
  let sample: unknown[];
  let schema: { indexes: string[]; constraints: string[] };
  let lastTx: string;
  let format: DumpFormat;
  const inner = () => join(dir, 'neo4j.inner');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-dump-'));
    neo = await startNeo4j('test-dump');
    await wipeGraph(neo.driver);
    await createProvenanceGraph(neo.driver, ATOMS);
    facts = await readGraphFacts(neo.driver, neo.bolt, 'neo4j');
    sample = await sampleAtoms(neo.driver, SAMPLE);
    schema = await schemaNames(neo.driver);
  });

  after(async () => {
    await neo?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the graph under test is provenance-like: atoms, sources, relationships, index and constraint', () => {
    assert.equal(facts.labels.Atom, ATOMS);
    assert.equal(facts.relationshipTypes.DERIVED_FROM, ATOMS - 1);
    assert.equal(facts.relationshipTypes.FROM_SOURCE, ATOMS);
    assert.deepEqual(schema, { indexes: ['atom_id', 'atom_kind'], constraints: ['atom_id'] });
    assert.equal(facts.neo4jVersion, neo.version);
    assert.equal(facts.edition, 'community');
    assert.match(facts.storeFormat, /^record-aligned-/);
  });

  test('the statistics procedure and the count queries give the same facts, without emptied labels', async () => {
    // A label and a type whose last node and relationship are gone: their tokens stay.
    await neo.driver.executeQuery('CREATE (:Gone)-[:GONE]->(:Gone)');
    await neo.driver.executeQuery('MATCH (n:Gone) DETACH DELETE n');
    const viaStatistics = await readGraphFacts(neo.driver, neo.bolt, 'neo4j', { shown: null });
    const viaQueries = await readGraphFacts(neo.driver, neo.bolt, 'neo4j', {
      shown: null,
      countQueries: true,
    });
    assert.deepEqual(viaStatistics, viaQueries);
    assert.deepEqual(viaStatistics, { ...facts, storeFormat: 'unknown', lastCommittedTxId: null });
    assert.equal(viaStatistics.labels.Gone, undefined);
    assert.equal(viaStatistics.relationshipTypes.GONE, undefined);
  });

  test('a dump taken while the server runs is refused because the store is in use', async () => {
    await assert.rejects(
      neo.admin.info('neo4j'),
      (error: unknown) => error instanceof SourceError && /in use/i.test(error.message),
    );
    await assert.rejects(
      pipeline(dumpDatabase(neo.admin, 'neo4j'), createWriteStream(join(dir, 'refused.dump'))),
      (error: unknown) => error instanceof SourceError && /in use/i.test(error.message),
    );
  });

  test('a stopped, cleanly shut down store dumps as a stream whose unwrapped content is a tar with a metadata header', async () => {
    await neo.server.stop();
    const info = await neo.admin.info('neo4j');
    assertStoreCleanlyStopped(info);
    lastTx = info.lastCommittedTransaction;
    const unwrapped = await unwrapDump(dumpDatabase(neo.admin, 'neo4j'));
    format = unwrapped.format;
    await pipeline(unwrapped.content, createWriteStream(inner()));
    assert.equal(format, 'DZV1');
    const content = await readFile(inner());
    const meta = parseDumpMetadata(content);
    assert.equal(meta.version, 1);
    assert.ok(meta.fileCount > 10, `fileCount ${meta.fileCount}`);
    // The tar after the header is at least as long as the files it holds.
    assert.ok(content.length - 24 >= meta.byteCount);
    assert.equal(content.subarray(24 + 257, 24 + 262).toString('latin1'), 'ustar');
  });

  test('after changes and deletions, loading the rewrapped dump restores the graph of the dump moment', async () => {
    await neo.server.start();
    await autoCommit(neo.driver, 'MATCH (a:Atom) WHERE a.atomId % 20 = 0 DETACH DELETE a');
    await neo.driver.executeQuery(
      "MATCH (a:Atom) WHERE a.atomId < 5000 SET a.kind = 'changed', a.hash = null",
    );
    await neo.driver.executeQuery('UNWIND range(1, 500) AS i CREATE (:Intruder {i: i})');
    await neo.driver.executeQuery('DROP INDEX atom_kind');
    const changed = await readGraphFacts(neo.driver, neo.bolt, 'neo4j');
    assert.notDeepEqual(changed.labels, facts.labels);

    await neo.server.stop();
    await loadDatabase(neo.admin, 'neo4j', await wrapDump(createReadStream(inner()), format));
    const info = await neo.admin.info('neo4j');
    assert.equal(info.lastCommittedTransaction, lastTx);
    assert.equal(info.recoveryRequired, false);

    await neo.server.start();
    await neo.reconnect();
    const restored = await readGraphFacts(neo.driver, neo.bolt, 'neo4j');
    assert.deepEqual(
      { ...restored, lastCommittedTxId: null },
      { ...facts, lastCommittedTxId: null },
    );
    assert.deepEqual(await sampleAtoms(neo.driver, SAMPLE), sample);
    assert.deepEqual(await schemaNames(neo.driver), schema);
    await assert.rejects(
      neo.driver.executeQuery('CREATE (:Atom {atomId: 1})'),
      /already exists/,
      'the uniqueness constraint is enforced again',
    );
  });

  test('database check passes on the rebuilt dump and fails on one with a corrupted store file', async () => {
    await neo.server.stop();
    const good = join(dir, 'good');
    const bad = join(dir, 'bad');
    await writeDump(good, await wrapDump(createReadStream(inner()), format));
    const ok = await neo.admin.check('neo4j', { fromPath: good, tempPath: dir });
    assert.equal(ok.consistent, true, ok.output);

    const content = await readFile(inner());
    corruptTarEntry(content, 24, /neostore\.relationshipstore\.db$/);
    await writeFile(join(dir, 'bad.inner'), content);
    await writeDump(bad, await wrapDump(createReadStream(join(dir, 'bad.inner')), format));
    const result = await neo.admin.check('neo4j', { fromPath: bad, tempPath: dir });
    assert.equal(result.consistent, false, result.output);
    assert.match(result.reportPath ?? '', /inconsistencies-.*\.report$/);
  });

  test('load refuses a dump whose compressed stream is corrupted, and the store stays loadable', async () => {
    const dump = await readFile(join(dir, 'good', 'neo4j.dump'));
    const broken = Buffer.from(dump);
    for (let i = 64; i < broken.length; i += 97) broken[i] = broken[i]! ^ 0x5a;
    await assert.rejects(
      loadDatabase(neo.admin, 'neo4j', [broken]),
      (error: unknown) => error instanceof SourceError && /database load/.test(error.message),
    );
    await loadDatabase(neo.admin, 'neo4j', createReadStream(join(dir, 'good', 'neo4j.dump')));
    await neo.server.start();
    await neo.reconnect();
    const restored = await readGraphFacts(neo.driver, neo.bolt, 'neo4j');
    assert.equal(restored.labels.Atom, ATOMS);
  });
});

async function writeDump(dir: string, dump: NodeJS.ReadableStream): Promise<void> {
  await mkdir(dir, { recursive: true });
  await pipeline(dump, createWriteStream(join(dir, 'neo4j.dump')));
}

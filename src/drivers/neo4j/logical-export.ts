/**
 * Online logical export of a Neo4j database over Bolt, as JSON lines (format `hbr-neo4j-logical`
 * version 1). Works on Community with the server running; no downtime.
 *
 * Lines, in order: one `header`; `schema` lines (constraints, then indexes not owned by a
 * constraint, each with its `createStatement`); `node` lines (`id`, `labels`, `props`); `rel` lines
 * (`id`, `rel` type, `start`, `end`, `props`); one `end` line with the counts, whose absence
 * marks a truncated export. Ids are element ids of the source, meaningful only inside one export.
 * Property values use the lossless encoding of `value-codec.ts`.
 *
 * Consistency caveat: Neo4j reads are read-committed. Nodes and relationships are read in one
 * read transaction, which is still not a snapshot: with writers running, the export can contain a
 * relationship whose end node it lacks, or miss changes made during it. Stop the writers (or run
 * with `server.databases.read_only`) for a point-in-time export; the offline dump is consistent
 * by construction. Such relationships are counted (`onEnd`), so the backup can say so.
 * @module
 */
import neo4j, { type Driver, type Node, type Relationship, type Transaction } from 'neo4j-driver';
import { Readable } from 'node:stream';
import { boltError, type BoltOptions } from './bolt.ts';
import { createNodeIdSet } from './node-id-set.ts';
import { encodeProps } from './value-codec.ts';

/** The `format` field of the header line. */
export const LOGICAL_FORMAT = 'hbr-neo4j-logical';

/** Options of {@link exportGraph}. */
export interface LogicalExportOptions {
  /** @default 'neo4j' */
  readonly database?: string;
  /** Records fetched per round trip. @default 5000 */
  readonly fetchSize?: number;
  readonly signal?: AbortSignal;
  /** Called with running totals every 10 000 records. */
  readonly onProgress?: (progress: { nodes: number; relationships: number }) => void;
  /** Called once the end line is written. */
  readonly onEnd?: (summary: LogicalExportSummary) => void;
}

/** What an export holds. */
export interface LogicalExportSummary {
  readonly nodes: number;
  readonly relationships: number;
  /**
   * Relationships whose start or end node the export lacks (written while it ran): an import
   * refuses such an export.
   */
  readonly danglingRelationships: number;
}

/**
 * Streams the export of one database. Errors (SourceError for Bolt failures) surface on the stream.
 */
export function exportGraph(
  driver: Driver,
  bolt: BoltOptions,
  options: LogicalExportOptions = {},
): Readable {
  return Readable.from(batchLines(exportLines(driver, bolt, options)), { objectMode: false });
}

// --- internal ---

async function* exportLines(
  driver: Driver,
  bolt: BoltOptions,
  options: LogicalExportOptions,
): AsyncGenerator<string> {
  const database = options.database ?? 'neo4j';
  const session = driver.session({
    database,
    defaultAccessMode: neo4j.session.READ,
    fetchSize: options.fetchSize ?? 5000,
    bookmarkManager: undefined,
  });
  const counts = { nodes: 0, relationships: 0 };
  const nodeIds = createNodeIdSet();
  let dangling = 0;
  let tx: Transaction | undefined;
  try {
    tx = session.beginTransaction();
    const [component] = (
      await tx.run('CALL dbms.components() YIELD versions RETURN versions[0] AS v')
    ).records;
    const str = (r: { get(key: string): unknown }, key: string): string | null => {
      const v = r.get(key);
      return typeof v === 'string' ? v : v === null || v === undefined ? null : JSON.stringify(v);
    };
    yield line({
      type: 'header',
      format: LOGICAL_FORMAT,
      version: 1,
      database,
      neo4j: component ? str(component, 'v') : null,
      exportedAt: new Date().toISOString(),
    });
    for (const r of (await tx.run('SHOW CONSTRAINTS YIELD name, type, createStatement')).records) {
      yield line({
        type: 'schema',
        kind: 'constraint',
        name: str(r, 'name'),
        schemaType: str(r, 'type'),
        create: str(r, 'createStatement'),
      });
    }
    const indexes = await tx.run(
      'SHOW INDEXES YIELD name, type, entityType, owningConstraint, createStatement WHERE owningConstraint IS NULL RETURN *',
    );
    for (const r of indexes.records) {
      yield line({
        type: 'schema',
        kind: 'index',
        name: str(r, 'name'),
        schemaType: str(r, 'type'),
        entityType: str(r, 'entityType'),
        create: str(r, 'createStatement'),
      });
    }
    for await (const record of tx.run('MATCH (n) RETURN n')) {
      options.signal?.throwIfAborted();
      const n: Node = record.get('n') as Node;
      nodeIds.add(n.elementId);
      yield line({
        type: 'node',
        id: n.elementId,
        labels: n.labels,
        props: encodeProps(n.properties),
      });
      if (++counts.nodes % 10_000 === 0) options.onProgress?.({ ...counts });
    }
    for await (const record of tx.run('MATCH ()-[r]->() RETURN r')) {
      options.signal?.throwIfAborted();
      const r: Relationship = record.get('r') as Relationship;
      if (!nodeIds.has(r.startNodeElementId) || !nodeIds.has(r.endNodeElementId)) dangling++;
      yield line({
        type: 'rel',
        id: r.elementId,
        rel: r.type,
        start: r.startNodeElementId,
        end: r.endNodeElementId,
        props: encodeProps(r.properties),
      });
      if (++counts.relationships % 10_000 === 0) options.onProgress?.({ ...counts });
    }
    yield line({ type: 'end', ...counts });
    options.onProgress?.({ ...counts });
    options.onEnd?.({ ...counts, danglingRelationships: dangling });
  } catch (error) {
    if (options.signal?.aborted === true) throw options.signal.reason;
    throw boltError(bolt, `export ${database}`, error);
  } finally {
    await tx?.rollback().catch(() => undefined);
    await session.close();
  }
}

function line(value: unknown): string {
  return JSON.stringify(value) + '\n';
}

/** Joins lines into ~64 KiB buffers: one stream chunk per line would dominate the cost. */
async function* batchLines(lines: AsyncIterable<string>): AsyncGenerator<Buffer> {
  let parts: string[] = [];
  let size = 0;
  for await (const l of lines) {
    parts.push(l);
    size += l.length;
    if (size >= 65_536) {
      yield Buffer.from(parts.join(''), 'utf8');
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) yield Buffer.from(parts.join(''), 'utf8');
}

/**
 * Imports a logical export (`logical-export.ts`) into an empty database over Bolt, in batches.
 *
 * Element ids are not stable across databases, so nodes are created with a temporary label and
 * id property under a uniqueness constraint (`:__HbrImport_<random> {__hbrId_<random>}`), relationships are matched
 * through it, and the temporary label, property and constraint are removed at the end, also when
 * the import fails. The export's schema is created after the data: faster, and constraints then
 * validate the data.
 * @module
 */
import neo4j, { type Driver } from 'neo4j-driver';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { SourceError } from '../../errors.ts';
import { boltError, toNumber, type BoltOptions } from './bolt.ts';
import { quoteName } from './facts.ts';
import { LOGICAL_FORMAT } from './logical-export.ts';
import { decodeProps, type JsonValue } from './value-codec.ts';

/** Options of {@link importGraph}. */
export interface LogicalImportOptions {
  /** @default 'neo4j' */
  readonly database?: string;
  /** Rows per write transaction. @default 5000 */
  readonly batchSize?: number;
  /**
   * Characters of export lines per write transaction, at most (a single larger row goes alone):
   * the server holds a transaction's parameters in direct memory, and 5000 rows of large
   * properties failed with OutOfDirectMemoryError. @default 8 MiB
   */
  readonly batchChars?: number;
  /** Import into a database that already holds nodes, indexes or constraints. @default false */
  readonly allowNonEmpty?: boolean;
  readonly signal?: AbortSignal;
  /**
   * Called when an import failed and removing its temporary label, property and constraint
   * failed as well; the message says what is left and the Cypher that removes it. The import's
   * own error is thrown either way. @default writes the message to stderr
   */
  readonly onCleanupError?: (error: SourceError) => void;
}

/** What an import created. */
export interface LogicalImportResult {
  readonly nodes: number;
  readonly relationships: number;
  readonly schema: number;
}

type Row = {
  id: string;
  labels?: string[];
  rel?: string;
  start?: string;
  end?: string;
  props: Record<string, JsonValue>;
};

/**
 * The names the import marks its nodes with until relationships are made: unique to each import
 * (fixed names clashed with a graph that used them, and were removed from its nodes at the end).
 */
function tempNames(): { label: string; key: string; constraint: string } {
  const suffix = randomBytes(6).toString('hex');
  return {
    label: `__HbrImport_${suffix}`,
    key: `__hbrId_${suffix}`,
    constraint: `${TEMP_CONSTRAINT_PREFIX}${suffix}`,
  };
}
const TEMP_CONSTRAINT_PREFIX = 'hbr_import_id_';

/**
 * Reads the JSON lines and recreates the graph. When the import fails (or is cancelled) after it
 * began writing, its temporary label, property and constraint are removed before its error is
 * thrown; the nodes and relationships imported so far stay, so the database must be emptied
 * before the next try.
 * @throws SourceError when the target is not empty (nodes, or indexes and constraints other than
 *   the lookup indexes every database has), the input is not a complete export
 *   (no header, or no end line), counts disagree, or Bolt fails.
 */
export async function importGraph(
  driver: Driver,
  bolt: BoltOptions,
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Readable,
  options: LogicalImportOptions = {},
): Promise<LogicalImportResult> {
  const database = options.database ?? 'neo4j';
  const batchSize = options.batchSize ?? 5000;
  const temp = tempNames();
  const query: Run = async (q, params = {}) => {
    try {
      return (await driver.executeQuery(q, params, { database, bookmarkManager: null })).records;
    } catch (error) {
      throw boltError(bolt, `import into ${database}`, error);
    }
  };
  const run: Run = async (q, params) => {
    options.signal?.throwIfAborted();
    return query(q, params);
  };
  if (options.allowNonEmpty !== true) {
    const [r] = await run('MATCH (n) RETURN count(n) AS c');
    if (r && toNumber(r.get('c')) > 0) {
      throw new SourceError(
        `[neo4j] import into ${database}: the database is not empty; import needs an empty database`,
      );
    }
    // Checked before any node is written: the export's schema is created after the data, and
    // an equivalent index or constraint already there would fail the import only then, leaving
    // a database full of nodes that a second try refuses.
    const existing = await existingSchema(run);
    if (existing.length > 0) {
      throw new SourceError(
        `[neo4j] import into ${database}: the database has no nodes but has ${existing.join(', ')}; ` +
          'import needs an empty database: drop them first (DROP CONSTRAINT / DROP INDEX)',
      );
    }
  }

  let imported: Awaited<ReturnType<typeof importData>>;
  try {
    await run(
      `CREATE CONSTRAINT ${temp.constraint} IF NOT EXISTS FOR (n:${temp.label}) REQUIRE n.${temp.key} IS UNIQUE`,
    );
    imported = await importData(run, temp, input, {
      database,
      batchSize,
      batchChars: options.batchChars ?? 8 * 1024 * 1024,
    });
    await removeTemp(run, temp, batchSize);
  } catch (error) {
    // Left behind, the marks would stay on the nodes imported so far (and the constraint for
    // good). Removed without the signal: a cancelled import must still take them away. The
    // import's own error is the one thrown; a failed cleanup is reported beside it.
    await removeTemp(query, temp, batchSize).catch((cleanupError: unknown) => {
      (options.onCleanupError ?? warnOnStderr)(cleanupFailed(database, temp, cleanupError));
    });
    throw error;
  }
  const { schema, ...done } = imported;
  const created = await applySchema(run, schema);
  await run('CALL db.awaitIndexes(600)');
  return { ...done, schema: created };
}

// --- internal ---

type Run = (
  query: string,
  params?: Record<string, unknown>,
) => Promise<{ get(key: string): unknown }[]>;

type TempNames = ReturnType<typeof tempNames>;

/** Reads the export and creates its nodes and relationships, marked with `temp`. */
async function importData(
  run: Run,
  temp: TempNames,
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Readable,
  options: { database: string; batchSize: number; batchChars: number },
): Promise<{ nodes: number; relationships: number; schema: Record<string, JsonValue>[] }> {
  const { database, batchSize, batchChars } = options;
  /** Characters of the lines of the rows waiting in `nodes` or `rels`. */
  let pending = 0;
  const schema: Record<string, JsonValue>[] = [];
  const done = { nodes: 0, relationships: 0 };
  let nodes: Row[] = [];
  let rels: Row[] = [];
  let header = false;
  let end: Record<string, JsonValue> | undefined;

  const flushNodes = async () => {
    for (const [key, rows] of groupBy(nodes, (r) => (r.labels ?? []).map(quoteName).join(':'))) {
      const labels = key === '' ? '' : `:${key}`;
      await run(
        `UNWIND $rows AS row CREATE (n:${temp.label}${labels} {${temp.key}: row.id}) SET n += row.props`,
        {
          rows: rows.map((r) => ({ id: r.id, props: decodeProps(r.props) })),
        },
      );
    }
    done.nodes += nodes.length;
    nodes = [];
    pending = 0;
  };
  const flushRels = async () => {
    for (const [type, rows] of groupBy(rels, (r) => r.rel ?? '')) {
      const created = await run(
        `UNWIND $rows AS row MATCH (a:${temp.label} {${temp.key}: row.s}) MATCH (b:${temp.label} {${temp.key}: row.e})
         CREATE (a)-[r:${quoteName(type)}]->(b) SET r += row.props RETURN count(r) AS c`,
        { rows: rows.map((r) => ({ s: r.start, e: r.end, props: decodeProps(r.props) })) },
      );
      const c = created[0] ? toNumber(created[0].get('c')) : 0;
      if (c !== rows.length) {
        throw new SourceError(
          `[neo4j] import into ${database}: ${rows.length - c} relationship(s) of type ${type} reference nodes missing from the export`,
        );
      }
    }
    done.relationships += rels.length;
    rels = [];
    pending = 0;
  };

  const source = Readable.from(input, { objectMode: false });
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  try {
    for await (const text of lines) {
      if (text === '') continue;
      const item = JSON.parse(text) as Record<string, JsonValue>;
      if (!header) {
        if (item.type !== 'header' || item.format !== LOGICAL_FORMAT) {
          throw new SourceError(`[neo4j] import: input is not an ${LOGICAL_FORMAT} export`);
        }
        header = true;
      } else if (item.type === 'node') {
        nodes.push(item as unknown as Row);
        pending += text.length;
        if (nodes.length >= batchSize || pending >= batchChars) await flushNodes();
      } else if (item.type === 'rel') {
        if (nodes.length > 0) await flushNodes();
        rels.push(item as unknown as Row);
        pending += text.length;
        if (rels.length >= batchSize || pending >= batchChars) await flushRels();
      } else if (item.type === 'schema') schema.push(item);
      else if (item.type === 'end') end = item;
    }
  } finally {
    // Once the import stops reading (done, or failed on the server), a later error of its input
    // (a damaged chunk further on, a cancelled read) has nothing left to fail: without a
    // listener it would be an uncaught exception, ending the process.
    source.on('error', () => undefined);
    lines.close();
    source.destroy();
  }
  await flushNodes();
  await flushRels();
  if (end === undefined)
    throw new SourceError(`[neo4j] import into ${database}: the export is truncated (no end line)`);
  if (end.nodes !== done.nodes || end.relationships !== done.relationships) {
    throw new SourceError(
      `[neo4j] import into ${database}: export says ${JSON.stringify(end.nodes)} nodes/` +
        `${JSON.stringify(end.relationships)} relationships, read ${done.nodes}/${done.relationships}`,
    );
  }
  return { ...done, schema };
}

/**
 * Removes the temporary label and id property from every node that has them, in batches (one
 * transaction for a whole graph would hold it all in memory), then drops the constraint.
 * Idempotent: also right for an import that failed before or while creating them.
 */
async function removeTemp(run: Run, temp: TempNames, batchSize: number): Promise<void> {
  let n = batchSize * 2;
  for (;;) {
    let r;
    try {
      [r] = await run(
        `MATCH (n:${temp.label}) WITH n LIMIT $n REMOVE n:${temp.label}, n.${temp.key} RETURN count(*) AS c`,
        { n: neo4j.int(n) },
      );
    } catch (error) {
      // The server rewrites each node with all its properties: nodes with large ones go in
      // smaller batches, down to one.
      if (n > 1 && isMemoryLimit(error)) {
        n = Math.ceil(n / 8);
        continue;
      }
      throw error;
    }
    if (!r || toNumber(r.get('c')) === 0) break;
  }
  await run(`DROP CONSTRAINT ${temp.constraint} IF EXISTS`);
}

/** What is left after a failed import whose cleanup failed too, and how to remove it. */
function cleanupFailed(database: string, temp: TempNames, cause: unknown): SourceError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new SourceError(
    `[neo4j] import into ${database} failed, and removing its temporary marks failed as well ` +
      `(${why}); remove them with \`MATCH (n:${temp.label}) REMOVE n:${temp.label}, n.${temp.key}\` ` +
      `and \`DROP CONSTRAINT ${temp.constraint} IF EXISTS\``,
    { cause },
  );
}

function warnOnStderr(error: SourceError): void {
  process.stderr.write(`warning: ${error.message}\n`);
}

/** The target's constraints and indexes, by kind and name, but for lookup indexes (always there). */
async function existingSchema(run: Run): Promise<string[]> {
  const constraints = await run(
    `SHOW CONSTRAINTS YIELD name WHERE NOT name STARTS WITH '${TEMP_CONSTRAINT_PREFIX}' RETURN name ORDER BY name`,
  );
  const indexes = await run(
    `SHOW INDEXES YIELD name, type, owningConstraint
     WHERE type <> 'LOOKUP' AND owningConstraint IS NULL RETURN name ORDER BY name`,
  );
  return [
    ...constraints.map((r) => `constraint ${String(r.get('name'))}`),
    ...indexes.map((r) => `index ${String(r.get('name'))}`),
  ];
}

async function applySchema(run: Run, schema: Record<string, JsonValue>[]): Promise<number> {
  const lookups = new Set(
    (await run("SHOW INDEXES YIELD type, entityType WHERE type = 'LOOKUP' RETURN entityType")).map(
      (r) => JSON.stringify(r.get('entityType')),
    ),
  );
  let created = 0;
  // Constraints first: they create their own indexes.
  for (const item of [...schema].sort((a, b) =>
    a.kind === b.kind ? 0 : a.kind === 'constraint' ? -1 : 1,
  )) {
    // A database has at most one lookup index per entity type; an empty one already has both.
    if (item.schemaType === 'LOOKUP' && lookups.has(JSON.stringify(item.entityType))) continue;
    if (typeof item.create !== 'string')
      throw new SourceError('[neo4j] import: schema line without createStatement');
    await run(item.create);
    created++;
  }
  return created;
}

/** The server refused a transaction over its memory limits (transaction pool, direct memory). */
function isMemoryLimit(error: unknown): boolean {
  const texts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    texts.push(e.message, typeof code === 'string' ? code : '');
  }
  return /MemoryPoolOutOfMemoryError|OutOfDirectMemoryError|OutOfMemoryError/.test(texts.join(' '));
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

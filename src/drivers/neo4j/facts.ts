/**
 * The facts recorded with every Neo4j backup and compared after a restore: version and edition,
 * store format, last committed transaction id, and node/relationship counts per label and type.
 * Counts come from the count store (`db.stats.retrieve('GRAPH COUNTS')`, or `MATCH (n:L) RETURN
 * count(n)`: both O(1)).
 * @module
 */
import type { Driver, Record as Record_ } from 'neo4j-driver';
import { boltError, toNumber, type BoltOptions } from './bolt.ts';
import { compareText } from '../../util/compare-text.ts';

/** A JSON-safe snapshot of a graph's shape, stored in the backup's `meta`. */
export interface GraphFacts {
  readonly database: string;
  readonly neo4jVersion: string;
  readonly edition: string;
  /** e.g. `record-aligned-1.1`. */
  readonly storeFormat: string;
  /**
   * Decimal string. Community reports no `lastCommittedTxn` over Bolt (it is null in 5.26), so
   * this is filled from `neo4j-admin database info` while the server is stopped, or null.
   */
  readonly lastCommittedTxId: string | null;
  readonly nodes: number;
  readonly relationships: number;
  /** Label → node count, sorted by label. */
  readonly labels: Readonly<Record<string, number>>;
  /** Relationship type → count, sorted by type. */
  readonly relationshipTypes: Readonly<Record<string, number>>;
}

/**
 * Reads the facts of `database` over Bolt. `shown`: the `SHOW DATABASES` rows to take the store
 * format from (shared between databases), or `null` to leave it `unknown` and the transaction
 * id null, for a caller that takes them from the dump; by default `SHOW DATABASES` runs here.
 * @throws SourceError on connection, authentication or query failures.
 */
export async function readGraphFacts(
  driver: Driver,
  bolt: BoltOptions,
  database: string,
  options: {
    signal?: AbortSignal;
    shown?: Promise<readonly ShownDatabase[]> | null;
    /** Count with queries, not the statistics procedure (its fallback; tests compare both). */
    countQueries?: boolean;
  } = {},
): Promise<GraphFacts> {
  const q = async (query: string, db = database) => {
    options.signal?.throwIfAborted();
    try {
      // No bookmarks: after a restore the store is older than any bookmark the driver holds, and
      // the server would wait for a transaction that will never come.
      return (await driver.executeQuery(query, {}, { database: db, bookmarkManager: null }))
        .records;
    } catch (error) {
      throw boltError(bolt, `read facts of ${db}`, error);
    }
  };
  // SHOW DATABASES is the slowest query on a server that just started (2-3 s measured on
  // 5.26.30, 2 cores: the first administration command), and every dump backup reads the facts
  // right after a restart: the counts do not wait for it, and a dump backup does without it.
  const shown = options.shown === undefined ? showDatabases(driver, bolt) : options.shown;
  shown?.catch(() => undefined); // awaited below
  options.signal?.throwIfAborted();
  const fromStatistics =
    options.countQueries === true
      ? undefined
      : await countsFromStatistics(driver, database).catch((error: unknown) => {
          if (!isStatisticsRefused(error))
            throw boltError(bolt, `read facts of ${database}`, error);
          return undefined;
        });
  const counted = fromStatistics ?? (await countsFromQueries(q));
  const row = (await shown)?.find((r) => r.name === database);
  const tx = row?.lastCommittedTxn;
  return {
    database,
    neo4jVersion: counted.version ?? 'unknown',
    edition: counted.edition ?? 'unknown',
    storeFormat: row?.store ?? 'unknown',
    lastCommittedTxId: tx === null || tx === undefined ? null : toNumber(tx).toString(),
    nodes: counted.nodes,
    relationships: counted.relationships,
    labels: sortedNonEmpty(counted.labels),
    relationshipTypes: sortedNonEmpty(counted.types),
  };
}

/**
 * Whether two reads of a database's facts have the same counts (nodes, relationships, each
 * label and type): no write landed between them, as far as counts can tell.
 */
export function sameCounts(a: GraphFacts | undefined, b: GraphFacts | undefined): boolean {
  const shape = (f: GraphFacts | undefined) =>
    f === undefined
      ? ''
      : JSON.stringify([f.nodes, f.relationships, f.labels, f.relationshipTypes]);
  return a !== undefined && shape(a) === shape(b);
}

/** A row of `SHOW DATABASES`. */
export interface ShownDatabase {
  readonly name: string;
  /** Store format, e.g. `record-aligned-1.1`, or null. */
  readonly store: string | null;
  /** Null on Community (5.26). */
  readonly lastCommittedTxn: unknown;
}

/**
 * `SHOW DATABASES` once for all databases (on a server that just started, the first system
 * command costs most of a second, so it is worth sharing).
 * @throws SourceError on connection, authentication or query failures.
 */
export async function showDatabases(driver: Driver, bolt: BoltOptions): Promise<ShownDatabase[]> {
  try {
    const { records } = await driver.executeQuery(
      'SHOW DATABASES YIELD name, store, lastCommittedTxn',
      {},
      { database: 'system', bookmarkManager: null },
    );
    const rows = new Map<string, ShownDatabase>();
    for (const r of records) {
      const name = String(r.get('name'));
      const store = r.get('store') as string | null | undefined;
      if (!rows.has(name))
        rows.set(name, {
          name,
          store: store ?? null,
          lastCommittedTxn: r.get('lastCommittedTxn') as unknown,
        });
    }
    return [...rows.values()];
  } catch (error) {
    throw boltError(bolt, 'list databases', error);
  }
}

/** Backtick-quotes a label, type or database name for Cypher. */
export function quoteName(name: string): string {
  return '`' + name.replaceAll('`', '``') + '`';
}

/** A label's or type's counts as `[name, count]` pairs, sorted by name (code unit order). */
export function countsByName(counts: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(counts).sort(([a], [b]) => compareText(a, b));
}

/**
 * An empty count per name, with no prototype: a label or type may be named `__proto__` (assigning
 * it would set the prototype) or `constructor` (an inherited member, not a count).
 */
export function counter(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

// --- internal ---

/** Counts of one database, with the server's version when the query that counted says it. */
interface Counted {
  readonly version?: string;
  readonly edition?: string;
  readonly nodes: number;
  readonly relationships: number;
  readonly labels: Record<string, number>;
  readonly types: Record<string, number>;
}

/**
 * Version, edition and every count in one query: `db.stats.retrieve('GRAPH COUNTS')` reads the
 * count store (the same numbers `MATCH (n:L) RETURN count(n)` plans into) for every label and
 * type at once. One cheap plan instead of four: on a server that just started, each query's
 * planning costs tens to hundreds of milliseconds. Undefined when the answer is not in the shape
 * 5.26 gives (the count queries then decide).
 */
async function countsFromStatistics(
  driver: Driver,
  database: string,
): Promise<Counted | undefined> {
  const { records } = await driver.executeQuery(
    `CALL dbms.components() YIELD versions, edition
     WITH versions[0] AS v, edition LIMIT 1
     CALL db.stats.retrieve('GRAPH COUNTS') YIELD data
     RETURN v, edition, data`,
    {},
    { database, bookmarkManager: null },
  );
  const r = records[0];
  const data = r?.get('data') as { nodes?: unknown; relationships?: unknown } | undefined;
  if (r === undefined || !Array.isArray(data?.nodes) || !Array.isArray(data.relationships))
    return undefined;
  const nodes = data.nodes as StatRow[];
  const rels = data.relationships as StatRow[];
  const labels = counter();
  const types = counter();
  let nodeTotal: number | undefined;
  let relTotal: number | undefined;
  for (const n of nodes) {
    if (typeof n.label === 'string') labels[n.label] = toNumber(n.count);
    else nodeTotal = toNumber(n.count);
  }
  // Rows with a start or end label count a type between labels; the per-type and total rows
  // have neither.
  for (const e of rels.filter((x) => x.startLabel === undefined && x.endLabel === undefined)) {
    if (typeof e.relationshipType === 'string') types[e.relationshipType] = toNumber(e.count);
    else relTotal = toNumber(e.count);
  }
  if (nodeTotal === undefined || relTotal === undefined) return undefined;
  return {
    version: String(r.get('v')),
    edition: String(r.get('edition')),
    nodes: nodeTotal,
    relationships: relTotal,
    labels,
    types,
  };
}

/** One row of the `nodes` or `relationships` list of the graph counts. */
interface StatRow {
  readonly count: unknown;
  readonly label?: unknown;
  readonly relationshipType?: unknown;
  readonly startLabel?: unknown;
  readonly endLabel?: unknown;
}

/**
 * The statistics procedure is an administrator's (Enterprise users may lack the right) and may
 * be missing or fail where procedures are restricted: the counts then come from count queries.
 */
function isStatisticsRefused(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    (code === 'Neo.ClientError.Security.Forbidden' || code.startsWith('Neo.ClientError.Procedure.'))
  );
}

/** The counts by separate queries (labels, types, one query for every count). */
async function countsFromQueries(
  q: (query: string, db?: string) => Promise<Record_[]>,
): Promise<Counted> {
  const [[component], labelRows, typeRows] = await Promise.all([
    q('CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition', 'system'),
    q('CALL db.labels() YIELD label RETURN label ORDER BY label'),
    q('CALL db.relationshipTypes() YIELD relationshipType AS t RETURN t ORDER BY t'),
  ]);
  const labelNames = labelRows.map((r) => String(r.get('label')));
  const typeNames = typeRows.map((r) => String(r.get('t')));
  // One query for every count; each subquery is a count-store lookup.
  const subqueries = [
    ...labelNames.map((l, i) => `CALL { MATCH (n:${quoteName(l)}) RETURN count(n) AS l${i} }`),
    ...typeNames.map(
      (t, i) => `CALL { MATCH ()-[r:${quoteName(t)}]->() RETURN count(r) AS t${i} }`,
    ),
    'CALL { MATCH (n) RETURN count(n) AS n } CALL { MATCH ()-[r]->() RETURN count(r) AS r }',
  ];
  const [totals] = await q(`${subqueries.join(' ')} RETURN *`);
  const labels = counter();
  labelNames.forEach((l, i) => (labels[l] = totals ? toNumber(totals.get(`l${i}`)) : 0));
  const types = counter();
  typeNames.forEach((t, i) => (types[t] = totals ? toNumber(totals.get(`t${i}`)) : 0));
  return {
    ...(component ? { version: String(component.get('v')) } : {}),
    ...(component ? { edition: String(component.get('edition')) } : {}),
    nodes: totals ? toNumber(totals.get('n')) : 0,
    relationships: totals ? toNumber(totals.get('r')) : 0,
    labels,
    types,
  };
}

/**
 * Sorted by name (as `db.labels()` returned them), without zeros: tokens stay after their last
 * node is gone, and a count of 0 is no fact.
 */
function sortedNonEmpty(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(countsByName(counts).filter(([, n]) => n > 0));
}

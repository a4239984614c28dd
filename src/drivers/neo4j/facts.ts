/**
 * The facts recorded with every Neo4j backup and compared after a restore: version and edition,
 * store format, last committed transaction id, and node/relationship counts per label and type.
 * Counts come from the count store (`MATCH (n:L) RETURN count(n)` is O(1)).
 * @module
 */
import type { Driver } from 'neo4j-driver';
import { boltError, toNumber, type BoltOptions } from './bolt.ts';

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
 * Reads the facts of `database` over Bolt.
 * @throws SourceError on connection, authentication or query failures.
 */
export async function readGraphFacts(
  driver: Driver,
  bolt: BoltOptions,
  database: string,
  options: { signal?: AbortSignal; shown?: Promise<readonly ShownDatabase[]> } = {},
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
  // Few, independent queries side by side: on a server that just started, planning each query
  // costs tens of milliseconds, and every dump backup reads the facts right after a restart.
  // SHOW DATABASES is the slowest on a cold server (2-3 s measured on 5.26.30, 2 cores): the
  // counts do not wait for it.
  const shown = options.shown ?? showDatabases(driver, bolt);
  shown.catch(() => undefined); // awaited below
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
  const labels: Record<string, number> = {};
  labelNames.forEach((l, i) => (labels[l] = totals ? toNumber(totals.get(`l${i}`)) : 0));
  const types: Record<string, number> = {};
  typeNames.forEach((t, i) => (types[t] = totals ? toNumber(totals.get(`t${i}`)) : 0));
  const row = (await shown).find((r) => r.name === database);
  const tx = row?.lastCommittedTxn;
  return {
    database,
    neo4jVersion: component ? String(component.get('v')) : 'unknown',
    edition: component ? String(component.get('edition')) : 'unknown',
    storeFormat: row?.store ?? 'unknown',
    lastCommittedTxId: tx === null || tx === undefined ? null : toNumber(tx).toString(),
    nodes: totals ? toNumber(totals.get('n')) : 0,
    relationships: totals ? toNumber(totals.get('r')) : 0,
    labels: dropEmpty(labels),
    relationshipTypes: dropEmpty(types),
  };
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

// --- internal ---

/** Tokens stay in `db.labels()` after their last node is gone; a count of 0 is no fact. */
function dropEmpty(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

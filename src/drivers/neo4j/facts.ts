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
  options: { signal?: AbortSignal } = {},
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
  const [component] = await q(
    'CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition',
    'system',
  );
  const dbRows = await q(
    `SHOW DATABASE ${quoteName(database)} YIELD store, lastCommittedTxn`,
    'system',
  );
  const labels: Record<string, number> = {};
  for (const r of await q('CALL db.labels() YIELD label RETURN label ORDER BY label')) {
    const label = String(r.get('label'));
    const [c] = await q(`MATCH (n:${quoteName(label)}) RETURN count(n) AS c`);
    labels[label] = c ? toNumber(c.get('c')) : 0;
  }
  const types: Record<string, number> = {};
  for (const r of await q(
    'CALL db.relationshipTypes() YIELD relationshipType AS t RETURN t ORDER BY t',
  )) {
    const type = String(r.get('t'));
    const [c] = await q(`MATCH ()-[r:${quoteName(type)}]->() RETURN count(r) AS c`);
    types[type] = c ? toNumber(c.get('c')) : 0;
  }
  const [totals] = await q(
    'CALL { MATCH (n) RETURN count(n) AS n } CALL { MATCH ()-[r]->() RETURN count(r) AS r } RETURN n, r',
  );
  const tx = dbRows[0]?.get('lastCommittedTxn') as unknown;
  return {
    database,
    neo4jVersion: component ? String(component.get('v')) : 'unknown',
    edition: component ? String(component.get('edition')) : 'unknown',
    storeFormat: String(dbRows[0]?.get('store') ?? 'unknown'),
    lastCommittedTxId: tx === null || tx === undefined ? null : toNumber(tx).toString(),
    nodes: totals ? toNumber(totals.get('n')) : 0,
    relationships: totals ? toNumber(totals.get('r')) : 0,
    labels: dropEmpty(labels),
    relationshipTypes: dropEmpty(types),
  };
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

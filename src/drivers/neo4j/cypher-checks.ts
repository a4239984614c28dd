/**
 * Configured Cypher checks after a restore (business keys present, invariants hold): each query
 * must run; with `expect`, the first column of its first row must equal it.
 * @module
 */
import neo4j from 'neo4j-driver';
import { openBolt, type BoltOptions } from './bolt.ts';

/** One configured check (`sources[].neo4j.checks[]`). */
export interface CypherCheck {
  readonly name: string;
  readonly cypher: string;
  readonly expect?: string | number | boolean | null | undefined;
}

/** The outcome of one check. */
export interface CypherCheckResult {
  readonly name: string;
  readonly ok: boolean;
  /** First column of the first row (integers as numbers), or null. */
  readonly value: unknown;
  readonly error?: string;
}

/** Runs every check against `database`; failures are results, never thrown. */
export async function runCypherChecks(
  bolt: BoltOptions,
  database: string,
  checks: readonly CypherCheck[],
  signal?: AbortSignal,
): Promise<CypherCheckResult[]> {
  if (checks.length === 0) return [];
  const driver = openBolt(bolt);
  const results: CypherCheckResult[] = [];
  try {
    for (const check of checks) {
      signal?.throwIfAborted();
      try {
        const { records } = await driver.executeQuery(
          check.cypher,
          {},
          { database, bookmarkManager: null },
        );
        const raw = records[0]?.get(0) as unknown;
        const value = neo4j.isInt(raw) ? raw.toNumber() : (raw ?? null);
        const ok = check.expect === undefined || value === check.expect;
        results.push({
          name: check.name,
          ok,
          value,
          ...(ok ? {} : { error: `expected ${JSON.stringify(check.expect)}` }),
        });
      } catch (error) {
        results.push({
          name: check.name,
          ok: false,
          value: null,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  } finally {
    await driver.close();
  }
  return results;
}

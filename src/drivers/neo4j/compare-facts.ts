/**
 * The check after every Neo4j restore: the restored databases' counts per label and relationship
 * type equal the facts recorded at backup time.
 * @module
 */
import { IntegrityError } from '../../errors.ts';
import { openBolt, type BoltOptions } from './bolt.ts';
import { countsByName, readGraphFacts, type GraphFacts } from './facts.ts';

/**
 * Reads the facts of each database that has a recorded one and compares them with it, except for
 * the databases `compare` leaves out (their facts are still read and returned).
 * @throws IntegrityError naming the database and both counts when they differ.
 */
export async function compareRestoredFacts(
  bolt: BoltOptions,
  expected: Readonly<Record<string, GraphFacts>>,
  databases: readonly string[],
  options: { signal?: AbortSignal; compare?: (db: string) => boolean } = {},
): Promise<Record<string, GraphFacts>> {
  // A new driver: an old one's bookmarks point past the restored store's last transaction.
  const driver = openBolt(bolt);
  const found: Record<string, GraphFacts> = {};
  // Keys sorted here: older backups recorded them in the server's order.
  const shape = (f: GraphFacts) =>
    JSON.stringify([
      f.nodes,
      f.relationships,
      countsByName(f.labels),
      countsByName(f.relationshipTypes),
    ]);
  try {
    for (const db of databases) {
      const want = expected[db];
      if (!want) continue;
      const got = await readGraphFacts(
        driver,
        bolt,
        db,
        options.signal ? { signal: options.signal } : {},
      );
      found[db] = got;
      if (options.compare?.(db) === false) continue;
      if (shape(got) !== shape(want)) {
        throw new IntegrityError(
          `[neo4j] restored ${db} differs from the backup's record: expected ${shape(want)}, found ${shape(got)}`,
        );
      }
    }
  } finally {
    await driver.close();
  }
  return found;
}

/**
 * What a logical backup's manifest says about writes during its export. Neo4j reads are
 * read-committed, so an export taken while writers run is no point in time: it can hold a
 * relationship whose end node it lacks (the import refuses it), or a unique value twice.
 * @module
 */
import type { Neo4jDatabaseRecord } from './backup.ts';

/**
 * The warning for one database of a backup, or undefined when its export ran undisturbed (or
 * it is not a logical export).
 */
export function exportWarning(database: string, record: Neo4jDatabaseRecord): string | undefined {
  if (record.kind !== 'logical') return undefined;
  const advice =
    'take a dump backup (mode: dump), or stop the writers (or make the database read-only) during a logical backup';
  const dangling = record.danglingRelationships ?? 0;
  if (dangling > 0) {
    return `${database}: ${dangling} relationship(s) of the export reference nodes it lacks (written while it ran): this backup cannot be restored; ${advice}`;
  }
  if (record.countsStable === false) {
    return `${database}: the graph changed while it was exported: the backup is not a point in time and may not restore; ${advice}`;
  }
  return undefined;
}

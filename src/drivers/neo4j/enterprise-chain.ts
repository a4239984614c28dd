/**
 * Backup chains of `mode: enterprise`. neo4j-admin writes one immutable artifact per database
 * and run: a full, or a differential holding the transactions since the previous artifact; a
 * chain is a full followed by contiguous differentials, and restoring a differential replays the
 * whole chain before it.
 *
 * Every hbr backup holds its database's whole chain (earlier artifacts are stored again, which
 * deduplicates to nothing), so each backup restores on its own and `forget` of an older backup
 * never breaks a later differential. This module decides full or differential and which earlier
 * backup a differential extends; it reads nothing.
 * @module
 */
import { UsageError } from '../../errors.ts';
import type { BackupRecord } from '../../repository/types.ts';
import type { Neo4jBackupMeta } from './backup.ts';
import type { EnterpriseBackupType } from './enterprise-config.ts';
import { compareText } from '../../util/compare-text.ts';

/** Per-database record of an enterprise backup (in `meta.neo4j.databases`). */
export interface EnterpriseDatabaseRecord {
  /** This run's artifact: the file name neo4j-admin gave it (`<db>-<timestamp>.backup`). */
  readonly artifact: string;
  readonly kind: 'backup-artifact';
  readonly backupType: 'full' | 'diff';
  /** Earlier artifacts of the chain, full first; all stored in this same backup. Empty for a full. */
  readonly chain: readonly string[];
}

/** What the next backup of a source will be. */
export interface EnterpriseBackupPlan {
  readonly type: 'full' | 'diff';
  /** The backup a differential extends (its artifacts are the start of the new chain). */
  readonly base?: BackupRecord;
  /** Per database: the artifacts to restore into the work folder first, full first. */
  readonly chains: Readonly<Record<string, readonly string[]>>;
}

/**
 * Chooses full or differential. The base of a differential is the newest enterprise backup of
 * the source that holds every database to back up; `auto` takes a full when there is none, or
 * when the base's chain already holds `maxDifferentials` differentials.
 * @param backups committed backups (any order, any source).
 * @throws UsageError when `diff` is asked for and no backup can be extended.
 */
export function planEnterpriseBackup(
  backups: readonly BackupRecord[],
  source: string,
  databases: readonly string[],
  requested: EnterpriseBackupType,
  maxDifferentials = Number.POSITIVE_INFINITY,
): EnterpriseBackupPlan {
  const full: EnterpriseBackupPlan = { type: 'full', chains: {} };
  if (requested === 'full') return full;
  const base = backups
    .filter((b) => b.source === source && b.kind === 'neo4j')
    .filter((b) => {
      const meta = b.meta.neo4j as Neo4jBackupMeta | undefined;
      return (
        meta?.mode === 'enterprise' &&
        databases.every((db) => enterpriseRecord(meta, db) !== undefined)
      );
    })
    .sort((a, b) => compareText(a.finishedAt, b.finishedAt))
    .at(-1);
  if (base === undefined) {
    if (requested === 'auto') return full;
    throw new UsageError(
      `[neo4j:enterprise] source ${source}: no earlier enterprise backup of ${databases.join(', ')} ` +
        'to take a differential from; take a full backup first (--type full, or type: auto)',
    );
  }
  const meta = base.meta.neo4j as Neo4jBackupMeta;
  const chains: Record<string, readonly string[]> = {};
  for (const db of databases) chains[db] = chainOf(enterpriseRecord(meta, db)!);
  // A chain is one full and its differentials; the longest chain decides.
  const diffs = Math.max(...Object.values(chains).map((c) => c.length - 1));
  if (requested === 'auto' && diffs >= maxDifferentials) return full;
  return { type: 'diff', base, chains };
}

/** The whole chain a record restores: earlier artifacts, full first, then its own. */
export function chainOf(record: EnterpriseDatabaseRecord): string[] {
  return [...record.chain, record.artifact];
}

/** The enterprise record of `database` in a backup's meta, or undefined. */
export function enterpriseRecord(
  meta: Neo4jBackupMeta,
  database: string,
): EnterpriseDatabaseRecord | undefined {
  const r = meta.databases[database] as Partial<EnterpriseDatabaseRecord> | undefined;
  if (r?.kind !== 'backup-artifact' || typeof r.artifact !== 'string') return undefined;
  return {
    artifact: r.artifact,
    kind: 'backup-artifact',
    backupType: r.backupType === 'diff' ? 'diff' : 'full',
    chain: Array.isArray(r.chain) ? r.chain.filter((x) => typeof x === 'string') : [],
  };
}

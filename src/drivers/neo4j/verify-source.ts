/**
 * `hbr verify` of a Neo4j backup without touching the live server: every artifact is read back
 * (authenticating each chunk); a dump-mode backup's dumps are rebuilt in a scratch directory and
 * checked with `neo4j-admin database check` (which also checks the counts store against the
 * records); a logical backup's export is counted per label and type and compared with the counts
 * recorded at backup time; an enterprise backup's chain is aggregated and checked
 * (`enterprise-verify.ts`). The result is plain JSON, stored as a `verification` note.
 * @module
 */
import { createInterface } from 'node:readline';
import { isHbrError } from '../../errors.ts';
import type { ArtifactRepository, BackupRecord } from '../../repository/types.ts';
import type { Neo4jAdmin } from './admin.ts';
import { neo4jMeta, type Neo4jDatabaseRecord } from './backup.ts';
import { verifyEnterpriseBackup } from './enterprise-verify.ts';
import { counter, countsByName, type GraphFacts } from './facts.ts';
import { createNodeIdSet } from './node-id-set.ts';
import { verifyNeo4jBackup } from './restore.ts';
import { readThrough } from './restore-source.ts';
import { assertTargetCanLoad } from './restore-target.ts';

/** The verdict on one database of a backup. */
export interface DatabaseVerification {
  readonly database: string;
  /** `consistency-check` (dump) or `export-counts` (logical). */
  readonly method: 'consistency-check' | 'export-counts';
  readonly ok: boolean;
  /** Checker output tail, or the count difference. */
  readonly detail: string;
}

/** The verdict on a backup. */
export interface Neo4jVerification {
  readonly backupId: string;
  readonly mode: string;
  readonly ok: boolean;
  readonly databases: readonly DatabaseVerification[];
  /** Set when the backup could not be read back at all. */
  readonly error?: string;
  readonly durationMs: number;
}

/**
 * Verifies one backup. Damage and inconsistency are results (`ok: false`).
 * @throws IncompatibleTargetError when `admin` is a Neo4j that cannot load the backup's stores;
 *   SourceError when neo4j-admin cannot run at all; StoreError from below.
 */
export async function verifyNeo4jSourceBackup(options: {
  readonly repo: ArtifactRepository;
  readonly backup: BackupRecord;
  readonly admin: Neo4jAdmin;
  readonly scratch: string;
  readonly signal?: AbortSignal;
}): Promise<Neo4jVerification> {
  const { repo, backup, signal } = options;
  const started = Date.now();
  const meta = neo4jMeta(backup);
  const finish = (databases: DatabaseVerification[], error?: string): Neo4jVerification => ({
    backupId: backup.id,
    mode: meta.mode,
    ok: error === undefined && databases.every((d) => d.ok),
    databases,
    ...(error !== undefined ? { error } : {}),
    durationMs: Date.now() - started,
  });
  try {
    await readThrough(repo, backup, Object.keys(meta.databases), signal);
  } catch (error) {
    if (!isHbrError(error) || error.code !== 'INTEGRITY') throw error;
    return finish([], error.message);
  }
  const databases: DatabaseVerification[] = [];
  if (meta.mode === 'dump' || meta.mode === 'enterprise') {
    // The checker loads the stores as a restore would: an older neo4j-admin than the backup's
    // would report a sound backup inconsistent, so it is refused, as the target of a restore is.
    await assertTargetCanLoad(backup, meta, Object.keys(meta.databases), options.admin, signal);
    const common = {
      repo,
      admin: options.admin,
      scratch: options.scratch,
      ...(signal ? { signal } : {}),
    };
    // Enterprise: the chain is aggregated into one full artifact, which the checker reads.
    const checks =
      meta.mode === 'dump'
        ? await verifyNeo4jBackup({ ...common, backupId: backup.id })
        : await verifyEnterpriseBackup({ ...common, backup });
    for (const [database, r] of Object.entries(checks)) {
      databases.push({
        database,
        method: 'consistency-check',
        ok: r.consistent,
        detail: r.consistent
          ? 'consistent'
          : `inconsistent (report ${r.reportPath ?? '?'}): ${r.output.trim().split('\n').slice(-5).join(' | ')}`,
      });
    }
  } else {
    for (const [database, r] of Object.entries(meta.databases)) {
      const got = await countExport(repo, backup.id, r.artifact, signal);
      databases.push({
        database,
        method: 'export-counts',
        ...judgeExport(meta.facts[database], r, got),
      });
    }
  }
  return finish(databases);
}

// --- internal ---

interface Counts {
  nodes: number;
  relationships: number;
  labels: Record<string, number>;
  relationshipTypes: Record<string, number>;
  complete: boolean;
  /** Relationships whose start or end node the export lacks. */
  dangling: number;
}

async function countExport(
  repo: ArtifactRepository,
  backupId: string,
  artifact: string,
  signal?: AbortSignal,
): Promise<Counts> {
  const counts: Counts = {
    nodes: 0,
    relationships: 0,
    labels: counter(),
    relationshipTypes: counter(),
    complete: false,
    dangling: 0,
  };
  const nodeIds = createNodeIdSet();
  const lines = createInterface({
    input: repo.openArtifact(backupId, artifact, signal ? { signal } : {}),
  });
  for await (const text of lines) {
    if (text === '') continue;
    const line = JSON.parse(text) as {
      type?: string;
      id?: string;
      labels?: string[];
      rel?: string;
      start?: string;
      end?: string;
    };
    if (line.type === 'node') {
      counts.nodes++;
      if (line.id !== undefined) nodeIds.add(line.id);
      for (const l of line.labels ?? []) counts.labels[l] = (counts.labels[l] ?? 0) + 1;
    } else if (line.type === 'rel' && line.rel !== undefined) {
      counts.relationships++;
      // The export writes every node before the first relationship.
      if (!nodeIds.has(line.start ?? '') || !nodeIds.has(line.end ?? '')) counts.dangling++;
      counts.relationshipTypes[line.rel] = (counts.relationshipTypes[line.rel] ?? 0) + 1;
    } else if (line.type === 'end') counts.complete = true;
  }
  return counts;
}

/**
 * The verdict on one export, as a restore of it would end: an export without its end line or
 * with relationships whose end nodes it lacks is refused by the import; counts that moved while
 * the backup ran (`countsStable: false`) are not the export's, so they are not compared.
 */
function judgeExport(
  want: GraphFacts | undefined,
  record: Neo4jDatabaseRecord,
  got: Counts,
): { ok: boolean; detail: string } {
  const found = `${got.nodes} nodes, ${got.relationships} relationships`;
  if (!got.complete) return { ok: false, detail: 'the export has no end line (truncated)' };
  if (got.dangling > 0) {
    return {
      ok: false,
      detail: `cannot be restored: ${got.dangling} relationship(s) reference nodes missing from the export (written while it ran)`,
    };
  }
  if (record.countsStable === false) {
    return {
      ok: true,
      detail: `${found}; counts not compared (the graph changed while it was exported: not a point in time)`,
    };
  }
  const diff = want ? compareCounts(want, got) : 'no counts recorded';
  return { ok: diff === '', detail: diff === '' ? found : diff };
}

/** '' when equal, else a description of the difference. */
function compareCounts(want: GraphFacts, got: Counts): string {
  const sorted = (o: Readonly<Record<string, number>>) => JSON.stringify(countsByName(o));
  const w = [want.nodes, want.relationships, sorted(want.labels), sorted(want.relationshipTypes)];
  const g = [got.nodes, got.relationships, sorted(got.labels), sorted(got.relationshipTypes)];
  return JSON.stringify(w) === JSON.stringify(g)
    ? ''
    : `counts differ from the backup's record: expected ${JSON.stringify(w)}, found ${JSON.stringify(g)}`;
}

/**
 * A restore of a configured Neo4j source as the CLI runs it: refuse a home whose Neo4j cannot
 * load the backup (`restore-target.ts`), read every artifact of the backup through once (a
 * damaged backup is refused before the server is stopped, so a live database is never
 * overwritten with half a dump), then {@link restoreNeo4j} (stop, load, start, compare the
 * counts per label and type), then the configured Cypher checks. The result is plain JSON, stored
 * as a `restore-check` note by the caller.
 * @module
 */
import { IntegrityError, isHbrError } from '../../errors.ts';
import type { ArtifactRepository, BackupRecord } from '../../repository/types.ts';
import { neo4jMeta, type Neo4jBackupMeta } from './backup.ts';
import { runCypherChecks, type CypherCheckResult } from './cypher-checks.ts';
import { describeEnterpriseRestore } from './enterprise-restore.ts';
import type { GraphFacts } from './facts.ts';
import { restoreNeo4j } from './restore.ts';
import { assertTargetCanLoad } from './restore-target.ts';
import type { ResolvedNeo4jSource } from './source-config.ts';

/** What a restore of a source did and found. */
export interface Neo4jSourceRestoreResult {
  readonly backupId: string;
  readonly home: string;
  readonly drill: boolean;
  readonly databases: readonly string[];
  /** Counts per label and type equal the backup's record (where compared). */
  readonly countsOk: boolean;
  /**
   * Databases whose counts were not compared: they moved while the backup ran, so the record
   * is not the backup's (`countsStable: false`).
   */
  readonly countsNotCompared: readonly string[];
  readonly countsError?: string;
  readonly facts: Readonly<Record<string, GraphFacts>>;
  readonly checks: readonly CypherCheckResult[];
  readonly ok: boolean;
  readonly durationMs: number;
}

/**
 * The steps a restore would run, for `--dry-run`.
 */
export function describeNeo4jRestore(
  neo: ResolvedNeo4jSource,
  backup: BackupRecord,
  includeSystem: boolean,
): { databases: string[]; steps: string[] } {
  const meta = neo4jMeta(backup);
  if (meta.mode === 'enterprise') {
    const plan = describeEnterpriseRestore(backup, includeSystem, {
      admin: neo.admin.command,
      ...neo.commands,
      workDir: neo.enterprise?.workDir,
    });
    plan.steps.unshift(canLoad(neo, meta));
    plan.steps.push(
      'compare node and relationship counts per label and type with the backup',
      ...neo.checks.map((c) => `Cypher check ${c.name}: ${c.cypher}`),
    );
    return plan;
  }
  const databases = Object.keys(meta.databases).filter((db) => db !== 'system' || includeSystem);
  const steps =
    meta.mode === 'dump'
      ? [
          canLoad(neo, meta),
          `read and verify every artifact of backup ${backup.shortId}`,
          `stop: ${neo.commands.stop}`,
          ...databases.map(
            (db) =>
              `${neo.admin.command} database load ${db} --from-stdin --overwrite-destination=true (dump rebuilt from ${meta.databases[db]?.artifact ?? '?'})`,
          ),
          `start: ${neo.commands.start}; wait for ${neo.bolt.url}`,
        ]
      : [
          `read and verify every artifact of backup ${backup.shortId}`,
          ...databases.map((db) => `import ${db} over ${neo.bolt.url} (logical, in batches)`),
        ];
  steps.push(
    'compare node and relationship counts per label and type with the backup',
    ...neo.checks.map((c) => `Cypher check ${c.name}: ${c.cypher}`),
  );
  return { databases, steps };
}

/**
 * Restores `backup` into the source's home (or the scratch home `neo` was resolved for).
 * A count mismatch or a failed Cypher check is a result (`ok: false`), not an error.
 * @throws IncompatibleTargetError when the home's Neo4j cannot load the backup, and
 *   IntegrityError when an artifact of the backup is damaged (nothing was stopped in either case);
 *   SourceError when Neo4j or neo4j-admin fail.
 */
export async function restoreNeo4jSource(
  repo: ArtifactRepository,
  neo: ResolvedNeo4jSource,
  backup: BackupRecord,
  options: { includeSystem?: boolean; drill?: boolean; signal?: AbortSignal } = {},
): Promise<Neo4jSourceRestoreResult> {
  const started = Date.now();
  const { databases } = describeNeo4jRestore(neo, backup, options.includeSystem === true);
  // Before the read-through, which takes as long as the backup is large: a target that cannot
  // load it is refused at once (restoreNeo4j checks again, for its other callers).
  await assertTargetCanLoad(backup, neo4jMeta(backup), databases, neo.admin, options.signal);
  await readThrough(repo, backup, databases, options.signal);
  let countsError: string | undefined;
  let facts: Readonly<Record<string, GraphFacts>> = {};
  try {
    const result = await restoreNeo4j({
      repo,
      backupId: backup.id,
      server: neo.server,
      admin: neo.admin,
      bolt: neo.bolt,
      includeSystem: options.includeSystem === true,
      ...(neo.enterprise ? { workDir: neo.enterprise.workDir } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    facts = result.facts;
  } catch (error) {
    // Only the count comparison's mismatch is a result; everything else is a failed restore.
    if (!(error instanceof IntegrityError)) throw error;
    countsError = error.message;
  }
  const checks: CypherCheckResult[] = [];
  for (const db of databases.filter((d) => d !== 'system'))
    checks.push(...(await runCypherChecks(neo.bolt, db, neo.checks, options.signal)));
  const countsOk = countsError === undefined;
  const meta = neo4jMeta(backup);
  const countsNotCompared = databases.filter(
    (db) => meta.facts[db] !== undefined && meta.databases[db]?.countsStable === false,
  );
  return {
    backupId: backup.id,
    home: neo.home,
    drill: options.drill === true,
    databases,
    countsOk,
    countsNotCompared,
    ...(countsError !== undefined ? { countsError } : {}),
    facts,
    checks,
    ok: countsOk && checks.every((c) => c.ok),
    durationMs: Date.now() - started,
  };
}

/**
 * Reads each artifact to the end, which authenticates every chunk.
 * @throws IntegrityError naming the backup and artifact when one cannot be read back.
 */
export async function readThrough(
  repo: ArtifactRepository,
  backup: BackupRecord,
  databases: readonly string[],
  signal?: AbortSignal,
): Promise<void> {
  const meta = neo4jMeta(backup);
  for (const db of databases) {
    const record = meta.databases[db];
    // An enterprise backup restores its whole chain (full first), all stored in this backup.
    for (const artifact of record ? [...(record.chain ?? []), record.artifact] : [])
      await readOne(repo, backup, artifact, signal);
  }
}

// --- internal ---

/** The dry run's step for `assertTargetCanLoad`. */
function canLoad(neo: ResolvedNeo4jSource, meta: Neo4jBackupMeta): string {
  return `check that ${neo.admin.command} is Neo4j ${meta.version} or a later release that loads its stores`;
}

async function readOne(
  repo: ArtifactRepository,
  backup: BackupRecord,
  artifact: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    for await (const chunk of repo.openArtifact(backup.id, artifact, signal ? { signal } : {}))
      void chunk;
  } catch (error) {
    if (!isHbrError(error) || error.code !== 'INTEGRITY') throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new IntegrityError(
      `[neo4j] backup ${backup.shortId}: artifact ${artifact} cannot be read back (${why}); refusing to restore it`,
      { cause: error },
    );
  }
}

/**
 * Restores and verifies Neo4j backups made by `backup.ts`.
 *
 * Dump-mode backups: stop the server, rebuild each dump from its stored content and stream it into
 * `database load --from-stdin --overwrite-destination=true`, start the server, then compare the
 * counts per label and type with the facts recorded at backup time. Logical backups are imported
 * over Bolt into an empty database. Verification rebuilds each dump into a scratch directory and
 * runs `database check` on it, without touching the live store.
 * @module
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArtifactRepository } from '../../repository/types.ts';
import type { CheckResult, Neo4jAdmin } from './admin.ts';
import { neo4jMeta, type Neo4jDatabaseRecord } from './backup.ts';
import { openBolt, type BoltOptions } from './bolt.ts';
import { compareRestoredFacts } from './compare-facts.ts';
import { wrapDump } from './dump-format.ts';
import { restoreNeo4jEnterprise } from './enterprise-restore.ts';
import { loadDatabase } from './dump-stream.ts';
import type { GraphFacts } from './facts.ts';
import { importGraph } from './logical-import.ts';
import { assertTargetCanLoad } from './restore-target.ts';
import { restartSignal, type Neo4jServer } from './server.ts';

/** Inputs of {@link restoreNeo4j}. */
export interface Neo4jRestoreOptions {
  readonly repo: ArtifactRepository;
  readonly backupId: string;
  readonly server: Neo4jServer;
  readonly admin: Neo4jAdmin;
  readonly bolt: BoltOptions;
  /** Also load `system` (users, roles) when the backup has it. @default false */
  readonly includeSystem?: boolean;
  /** Enterprise backups: where to materialise the artifact chain. @default the OS temp folder */
  readonly workDir?: string;
  readonly signal?: AbortSignal;
}

/** What a restore did and found. */
export interface Neo4jRestoreResult {
  readonly databases: readonly string[];
  /** Facts read after the restore, per user database. */
  readonly facts: Readonly<Record<string, GraphFacts>>;
}

/**
 * Restores a backup into the server's installation and checks the counts.
 * @throws IncompatibleTargetError when the installation cannot load the backup (an older Neo4j
 *   release, a store format it lacks: `restore-target.ts`), before anything is stopped;
 *   IntegrityError when counts per label/type differ from the backup's record;
 *   SourceError when neo4j-admin or Bolt fail.
 */
export async function restoreNeo4j(options: Neo4jRestoreOptions): Promise<Neo4jRestoreResult> {
  const { repo, signal } = options;
  const record = await repo.findBackup(options.backupId);
  const meta = neo4jMeta(record);
  const entries = Object.entries(meta.databases).filter(
    ([db]) => db !== 'system' || options.includeSystem === true,
  );
  await assertTargetCanLoad(
    record,
    meta,
    entries.map(([db]) => db),
    options.admin,
    signal,
  );
  if (meta.mode === 'enterprise') return restoreNeo4jEnterprise(options, record, meta);
  if (meta.mode === 'dump') {
    signal?.throwIfAborted();
    // Neither the stop nor the start is cut short by the signal: a cancelled restore (Ctrl-C)
    // must still leave the server running (restartSignal).
    await options.server.stop();
    try {
      for (const [db, r] of entries) {
        await loadDatabase(options.admin, db, await rebuild(repo, record.id, r, signal), {
          signal,
        });
      }
    } finally {
      await options.server.start({ signal: restartSignal() });
    }
  } else {
    const driver = openBolt(options.bolt);
    try {
      for (const [db, r] of entries) {
        await importGraph(
          driver,
          options.bolt,
          repo.openArtifact(record.id, r.artifact, { signal }),
          { database: db, signal },
        );
      }
    } finally {
      await driver.close();
    }
  }
  // Counts that moved while the backup ran say nothing about the backup's moment.
  const facts = await compareRestoredFacts(
    options.bolt,
    meta.facts,
    entries.map(([db]) => db),
    {
      ...(signal ? { signal } : {}),
      compare: (db) => meta.databases[db]?.countsStable !== false,
    },
  );
  return { databases: entries.map(([db]) => db), facts };
}

/**
 * Rebuilds each dump of a dump-mode backup under `scratch` and runs `database check` on it.
 * @returns the check result per database (`system` included when present).
 */
export async function verifyNeo4jBackup(options: {
  readonly repo: ArtifactRepository;
  readonly backupId: string;
  readonly admin: Neo4jAdmin;
  /** A directory with room for about 2.2× the uncompressed store (dump + extracted copy). */
  readonly scratch: string;
  readonly signal?: AbortSignal;
}): Promise<Record<string, CheckResult>> {
  const record = await options.repo.findBackup(options.backupId);
  const meta = neo4jMeta(record);
  const results: Record<string, CheckResult> = {};
  await mkdir(options.scratch, { recursive: true });
  for (const [db, r] of Object.entries(meta.databases)) {
    if (r.kind !== 'dump-content') continue;
    const dir = await mkdtemp(join(options.scratch, `${db}-`));
    try {
      const dump = await rebuild(options.repo, record.id, r, options.signal);
      await pipeline(dump, createWriteStream(join(dir, `${db}.dump`)), { signal: options.signal });
      results[db] = await options.admin.check(db, {
        fromPath: dir,
        tempPath: dir,
        reportPath: dir,
        signal: options.signal,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return results;
}

// --- internal ---

async function rebuild(
  repo: ArtifactRepository,
  backupId: string,
  r: Neo4jDatabaseRecord,
  signal?: AbortSignal,
) {
  const content = repo.openArtifact(backupId, r.artifact, { signal });
  return wrapDump(content, r.format ?? 'DZV1', { signal });
}

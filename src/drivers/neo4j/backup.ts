/**
 * Neo4j backups into an artifact repository.
 *
 * `dump` (offline; Community's only physical backup): read the graph facts, stop the server cleanly,
 * refuse an unclean store or a neo4j-admin of another version, `database dump` each database
 * (user databases and `system`, which holds users and roles) and start the server again, even
 * when the dump fails; the dumps stream into the repository while the server is down, or with a
 * spool folder while it starts (`offline-dump.ts`). The unwrapped content is stored, not the
 * compressed dump, so unchanged store files deduplicate.
 *
 * `logical`: no downtime; each user database is exported over Bolt (`logical-export.ts`). Reads
 * are read-committed, so the export is a point in time only when writers are stopped.
 *
 * `enterprise`: no downtime; `neo4j-admin database backup` artifacts, full or differential
 * (`enterprise-backup.ts`).
 * @module
 */
import type { ArtifactRepository, BackupRecord } from '../../repository/types.ts';
import { SourceError } from '../../errors.ts';
import type { Neo4jAdmin } from './admin.ts';
import { backupNeo4jEnterprise } from './enterprise-backup.ts';
import type { EnterpriseSettings } from './enterprise-config.ts';
import { openBolt, verifyCredentials, type BoltOptions } from './bolt.ts';
import type { DumpFormat } from './dump-format.ts';
import { readGraphFacts, sameCounts, showDatabases, type GraphFacts } from './facts.ts';
import { exportGraph } from './logical-export.ts';
import { offlineDump } from './offline-dump.ts';
import type { Neo4jServer } from './server.ts';
import { assertVersionsMatch } from './store-state.ts';
import { tracePhase } from '../../util/trace.ts';

/** How a Neo4j source is backed up. */
export type Neo4jBackupMode = 'dump' | 'logical' | 'enterprise';

/** Inputs of {@link backupNeo4j}. */
export interface Neo4jBackupOptions {
  /**
   * The repository, or its opening still under way (key derivation takes a few hundred
   * milliseconds): it then runs beside the reads before the stop instead of before them.
   */
  readonly repo: ArtifactRepository | Promise<ArtifactRepository>;
  /** Source name from the config. */
  readonly source: string;
  readonly mode: Neo4jBackupMode;
  readonly server: Neo4jServer;
  readonly admin: Neo4jAdmin;
  readonly bolt: BoltOptions;
  /** User databases. @default ['neo4j'] */
  readonly databases?: readonly string[];
  /** Dump mode: also dump `system` (users, roles). @default true */
  readonly includeSystem?: boolean;
  /**
   * Dump mode: where the compressed dumps wait while the server starts (`offline-dump.ts`);
   * absent: each dump streams into the repository while the server is down, no temp file.
   */
  readonly spoolDir?: string;
  /**
   * Dump mode: this process's niceness while the server starts, `false` to keep it
   * (`offline-dump.ts`). @default 15
   */
  readonly startNice?: number | false;
  /** Enterprise mode: its settings (`enterprise-backup.ts`). */
  readonly enterprise?: EnterpriseSettings;
  readonly tags?: readonly string[];
  /** @default () => new Date() */
  readonly clock?: () => Date;
  readonly signal?: AbortSignal;
}

/** Per-database record in the backup's `meta.neo4j.databases`. */
export interface Neo4jDatabaseRecord {
  /** Artifact path in the backup. */
  readonly artifact: string;
  /**
   * `dump-content`: unwrapped dump (rebuild with `format`); `logical`: JSON lines;
   * `backup-artifact`: a neo4j-admin backup artifact (enterprise, see `enterprise-chain.ts`).
   */
  readonly kind: 'dump-content' | 'logical' | 'backup-artifact';
  /** Enterprise: full or differential artifact. */
  readonly backupType?: 'full' | 'diff';
  /** Enterprise: earlier artifacts of the chain (full first), stored in the same backup. */
  readonly chain?: readonly string[];
  /**
   * `false` when the counts moved while the backup ran (an online backup or export, or the time
   * before a dump's stop): a restore does not compare them, since they are not the backup's.
   */
  readonly countsStable?: boolean;
  /**
   * Logical mode: relationships of the export whose start or end node it lacks (written while
   * it ran); absent when none. Such a backup cannot be restored (`export-consistency.ts`).
   */
  readonly danglingRelationships?: number;
  readonly format?: DumpFormat;
  readonly storeFormat?: string;
  readonly lastCommittedTxId?: string;
}

/** What `meta.neo4j` of a Neo4j backup holds. */
export interface Neo4jBackupMeta {
  readonly mode: Neo4jBackupMode;
  readonly version: string;
  readonly edition: string;
  /** Milliseconds between the stop request and Bolt answering again (dump mode). */
  readonly downtimeMs?: number;
  readonly databases: Readonly<Record<string, Neo4jDatabaseRecord>>;
  /** Facts of each user database at backup time (counts are compared after a restore). */
  readonly facts: Readonly<Record<string, GraphFacts>>;
}

/**
 * Runs one backup and commits it.
 * @throws SourceError when Neo4j refuses (unclean store, version mismatch, Bolt errors); the
 *   session is aborted and, in dump mode, the server is started again before the error surfaces.
 */
export async function backupNeo4j(options: Neo4jBackupOptions): Promise<BackupRecord> {
  if (options.mode === 'enterprise') return backupNeo4jEnterprise(options);
  const clock = options.clock ?? (() => new Date());
  const signal = options.signal;
  const databases = options.databases ?? ['neo4j'];
  const startedAt = clock();
  const dump = options.mode === 'dump';
  // Everything before the stop runs side by side: it adds to the wall time of every backup.
  const opened = Promise.resolve(options.repo).then((repo) => repo.startBackup({ signal }));
  opened.catch(() => undefined); // awaited below
  const adminVersion = dump ? options.admin.version({ signal }) : undefined;
  adminVersion?.then(() => tracePhase('admin version')).catch(() => undefined); // awaited below
  // What `dump '*'` would dump, from the store's folder: no SHOW DATABASES (seconds on a server
  // that just started); the store formats come from the dumps.
  const storeDatabases = dump ? options.admin.storeDatabases() : undefined;
  storeDatabases?.catch(() => undefined); // awaited below
  const driver = openBolt(options.bolt);
  tracePhase('bolt driver made');
  const facts: Record<string, GraphFacts> = {};
  let server: { version: string; edition: string };
  try {
    // Authentication alone first: a wrong password must fail once, not once per parallel query
    // (the server locks the user out after a few failures in a row). Then every query side by
    // side: on a server that just started, each costs its planning (one query per database).
    await verifyCredentials(driver, options.bolt);
    tracePhase('authenticated');
    // Logical mode records the store formats SHOW DATABASES names; dump mode takes them from
    // the dumps.
    const listed = dump ? null : showDatabases(driver, options.bolt);
    listed?.catch(() => undefined); // awaited by readGraphFacts
    await Promise.all(
      databases.map(async (db) => {
        facts[db] = await readGraphFacts(driver, options.bolt, db, { signal, shown: listed });
      }),
    );
    // The facts carry the server's version (dbms.components()); no second connection for it.
    const first = databases[0] !== undefined ? facts[databases[0]] : undefined;
    server =
      first !== undefined && first.neo4jVersion !== 'unknown'
        ? { version: first.neo4jVersion, edition: first.edition }
        : await options.server.version();
  } catch (error) {
    await opened.then((s) => s.abort()).catch(() => undefined);
    await driver.close();
    throw error;
  }
  const { version, edition } = server;
  tracePhase('facts read');
  /**
   * The facts read again: the counts stand for the backup only when nothing moved them in
   * between (as enterprise mode does around its online backup). Neither an export nor the time
   * before a stop is a snapshot, and a restore would otherwise fail a correct backup's check.
   */
  const settled = async (): Promise<void> => {
    for (const db of databases) {
      const again = await readGraphFacts(driver, options.bolt, db, { signal });
      stable[db] = sameCounts(facts[db], again);
      facts[db] = again;
    }
  };
  const stable: Record<string, boolean> = {};
  let session: Awaited<typeof opened>;
  try {
    session = await opened;
  } catch (error) {
    await driver.close();
    throw error;
  }
  tracePhase('session started');
  try {
    const records: Record<string, Neo4jDatabaseRecord> = {};
    let downtimeMs: number | undefined;
    if (options.mode === 'logical') {
      const exporter = openBolt(options.bolt);
      try {
        for (const db of databases) {
          const artifact = `${db}.jsonl`;
          const ended: { dangling?: number } = {};
          const lines = exportGraph(exporter, options.bolt, {
            database: db,
            signal,
            onEnd: (s) => (ended.dangling = s.danglingRelationships),
          });
          await session.addArtifact(artifact, lines, { signal });
          const dangling = ended.dangling ?? 0;
          records[db] = {
            artifact,
            kind: 'logical',
            ...(dangling > 0 ? { danglingRelationships: dangling } : {}),
          };
        }
      } finally {
        await exporter.close();
      }
      await settled();
      await driver.close();
    } else {
      assertVersionsMatch(await adminVersion!, version);
      // Right before the stop: what lands in between is in the dump but not in these counts.
      await settled();
      await driver.close();
      const all = options.includeSystem === false ? databases : [...databases, 'system'];
      const dumped = await offlineDump({
        session,
        server: options.server,
        admin: options.admin,
        databases: all,
        storeDatabases: await storeDatabases,
        ...(options.spoolDir !== undefined ? { spoolDir: options.spoolDir } : {}),
        ...(options.startNice !== undefined ? { nice: options.startNice } : {}),
        ...(signal ? { signal } : {}),
      });
      Object.assign(records, dumped.records);
      downtimeMs = dumped.downtimeMs;
      for (const db of databases) {
        const { lastCommittedTxId, storeFormat } = records[db] ?? {};
        const read = facts[db];
        if (read === undefined) continue;
        facts[db] = {
          ...read,
          ...(lastCommittedTxId !== undefined ? { lastCommittedTxId } : {}),
          ...(storeFormat !== undefined ? { storeFormat } : {}),
        };
      }
    }
    for (const db of databases) {
      const record = records[db];
      if (record && stable[db] === false) records[db] = { ...record, countsStable: false };
    }
    const meta: Neo4jBackupMeta = {
      mode: options.mode,
      version,
      edition,
      downtimeMs,
      databases: records,
      facts,
    };
    tracePhase('commit requested');
    return await session.commit({
      source: options.source,
      kind: 'neo4j',
      type: 'full',
      startedAt,
      paths: databases,
      tags: options.tags,
      meta: { neo4j: meta },
    });
  } catch (error) {
    await session.abort();
    throw error;
  } finally {
    await driver.close();
  }
}

/**
 * Reads `meta.neo4j` of a backup record.
 * @throws SourceError when the backup is not a Neo4j backup.
 */
export function neo4jMeta(record: BackupRecord): Neo4jBackupMeta {
  const meta = record.meta.neo4j as Neo4jBackupMeta | undefined;
  if (record.kind !== 'neo4j' || meta === undefined || typeof meta.databases !== 'object') {
    throw new SourceError(
      `[neo4j] backup ${record.shortId} is not a Neo4j backup (kind ${record.kind})`,
    );
  }
  return meta;
}

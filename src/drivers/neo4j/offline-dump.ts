/**
 * The offline part of a `dump` backup, arranged so the server is down as briefly as possible:
 * stop; `neo4j-admin database dump` into a spool directory (one run for every database when the
 * backup covers them all, each JVM start costs about a second) while `database info` reads the
 * stores' state; refuse a store that was not shut down cleanly; start the server again and,
 * while it starts, read the spooled dumps into the repository (unwrapped, see `dump-format.ts`;
 * segmented, see `segmented-save.ts`). The spool holds the compressed dumps (a fifth to a
 * quarter of the store on disk) until the backup ends.
 * @module
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceError } from '../../errors.ts';
import type { BackupSession } from '../../repository/types.ts';
import type { Neo4jAdmin } from './admin.ts';
import type { Neo4jDatabaseRecord } from './backup.ts';
import { unwrapDump } from './dump-format.ts';
import type { Neo4jServer } from './server.ts';
import { addSegmentedArtifact } from './segmented-save.ts';
import { assertStoreCleanlyStopped, type StoreInfo } from './store-state.ts';

/** Inputs of {@link offlineDump}. */
export interface OfflineDumpOptions {
  readonly session: BackupSession;
  readonly server: Neo4jServer;
  readonly admin: Neo4jAdmin;
  /** Databases to dump (user databases, usually `system` too). */
  readonly databases: readonly string[];
  /**
   * Every database the server has (`SHOW DATABASES`). When `databases` covers them all, one
   * `dump '*'` dumps them in one JVM.
   */
  readonly storeDatabases?: readonly string[];
  /** Where the compressed dumps wait while the server starts. @default os.tmpdir() */
  readonly spoolDir?: string;
  readonly signal?: AbortSignal;
}

/** What {@link offlineDump} stored. */
export interface OfflineDumpResult {
  readonly records: Record<string, Neo4jDatabaseRecord>;
  /** Stop requested → Bolt answering again. */
  readonly downtimeMs: number;
}

/**
 * Stops the server, dumps, starts it again (also when anything fails), and stores the dumps.
 * @throws SourceError when a store needs recovery or is in use, neo4j-admin fails, or the server
 *   does not come back; errors of the repository as they are.
 */
export async function offlineDump(options: OfflineDumpOptions): Promise<OfflineDumpResult> {
  const { server, signal } = options;
  const spool = await mkdtemp(join(options.spoolDir ?? tmpdir(), 'hbr-neo4j-dump-'));
  try {
    const stopAt = Date.now();
    await server.stop({ signal });
    try {
      await dumpWhileStopped(options, spool);
    } catch (error) {
      await startAfterFailure(server, error, signal);
      throw error;
    }
    // Reading the spool starts at once; the stores' state is read beside it, before the start.
    const cancel = new AbortController();
    const ingestSignal = signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal;
    const records: Record<string, Neo4jDatabaseRecord> = {};
    const ingested = ingest(options, spool, records, ingestSignal);
    ingested.catch(() => undefined); // settled below
    let infos: StoreInfo[];
    try {
      infos = await cleanStores(options);
    } catch (error) {
      cancel.abort(error);
      await ingested.catch(() => undefined);
      await startAfterFailure(server, error, signal);
      throw error;
    }
    const started = server.start({ signal }).then(() => Date.now() - stopAt);
    started.catch(() => undefined); // settled below
    const [start, stored] = await Promise.allSettled([started, ingested]);
    if (start.status === 'rejected') throw start.reason;
    if (stored.status === 'rejected') throw stored.reason;
    for (const info of infos) {
      const record = records[info.database];
      if (record === undefined) continue;
      records[info.database] = {
        ...record,
        storeFormat: info.storeFormat,
        lastCommittedTxId: info.lastCommittedTransaction,
      };
    }
    return { records, downtimeMs: start.value };
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}

// --- internal ---

/**
 * Dumps into `spool` (`<db>.dump` each). neo4j-admin itself refuses a store that is in use or
 * needs recovery ("Active logical log detected"); only then is `database info` asked, so the
 * error says plainly what is wrong and what to do.
 */
async function dumpWhileStopped(options: OfflineDumpOptions, spool: string): Promise<void> {
  const { admin, databases, signal } = options;
  const o = signal ? { signal } : {};
  const all = options.storeDatabases;
  const dumpArgs = (pattern: string) => [
    'database',
    'dump',
    pattern,
    `--to-path=${spool}`,
    '--overwrite-destination=true',
  ];
  const everything =
    all !== undefined && all.length === databases.length && all.every((d) => databases.includes(d));
  try {
    if (everything) await admin.run(dumpArgs('*'), o);
    else for (const db of databases) await admin.run(dumpArgs(db), o);
  } catch (error) {
    const infos = await admin.infoAll(o).catch(() => []);
    for (const info of infos.filter((i) => databases.includes(i.database)))
      assertStoreCleanlyStopped(info);
    throw error;
  }
}

/** Unwraps each spooled dump into the repository, adding its record to `records`. */
async function ingest(
  options: OfflineDumpOptions,
  spool: string,
  records: Record<string, Neo4jDatabaseRecord>,
  signal: AbortSignal,
): Promise<void> {
  for (const db of options.databases) {
    const { format, content } = await unwrapDump(createReadStream(join(spool, `${db}.dump`)), {
      signal,
      markEntries: true,
    });
    const artifact = `${db}.dump-content`;
    await addSegmentedArtifact(options.session, artifact, content, { signal });
    records[db] = { artifact, kind: 'dump-content', format };
  }
}

/**
 * `database info` of the stopped stores (one JVM): each must be clean and not in use. Runs after
 * the dump, so only the last of the two checks costs downtime; a store needing recovery was
 * already refused by the dump itself, and this names the remedy.
 * @throws SourceError when a store is in use, needs recovery, or is missing.
 */
async function cleanStores(options: OfflineDumpOptions): Promise<StoreInfo[]> {
  const infos = await options.admin.infoAll(options.signal ? { signal: options.signal } : {});
  const wanted = infos.filter((i) => options.databases.includes(i.database));
  for (const db of options.databases) {
    const info = wanted.find((i) => i.database === db);
    if (info === undefined)
      throw new SourceError(`[neo4j] database info lists no database '${db}' in the local store`);
    assertStoreCleanlyStopped(info);
  }
  return wanted;
}

/** Starts the server after a failed dump; a failed start is added to the original error. */
async function startAfterFailure(
  server: Neo4jServer,
  error: unknown,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    await server.start(signal ? { signal } : {});
  } catch (startError) {
    const why = error instanceof Error ? error.message : String(error);
    throw new SourceError(
      `${why}; starting Neo4j again failed as well: ${startError instanceof Error ? startError.message : String(startError)}`,
      { cause: error },
    );
  }
}

/**
 * The offline part of a `dump` backup: stop, dump, start. By default each database's dump is
 * streamed straight into the repository while the server is down, with no temp file (unwrapped,
 * see `dump-format.ts`; segmented, see `segmented-save.ts`): when the backup covers every
 * database, one `dump '*'` writes them into named pipes (`dump-fifo.ts`: one JVM start in the
 * downtime instead of one per database), each drained by a thread of its own into memory ahead
 * of the repository, and the server starts once neo4j-admin has exited while the rest is
 * stored; else
 * `dump <db> --to-stdout` runs per database. With a spool directory the server is down more
 * briefly: `neo4j-admin database dump` writes into it (one run for every database when the
 * backup covers them all: each JVM start costs about a second), the server starts again and,
 * while it starts, the spooled dumps are read into the repository. The spool holds the
 * compressed dumps (a fifth to a quarter of the store on disk) until the backup ends.
 *
 * A store that is in use or was not shut down cleanly is refused by `database dump` itself (it
 * takes the store lock and checks for pending recovery: "Active logical log detected"); only
 * then does `database info` run, so the error names the cause and the remedy. The last committed
 * transaction id comes from the dump's newest checkpoint, not from another JVM in the downtime,
 * and the store format from the dump's metadata store (`store-format.ts`).
 * @module
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SourceError } from '../../errors.ts';
import type { RepositorySession } from '../../repository/index.ts';
import type { BackupSession } from '../../repository/types.ts';
import type { Neo4jAdmin } from './admin.ts';
import type { Neo4jDatabaseRecord } from './backup.ts';
import { unwrapDump } from './dump-format.ts';
import { makeDumpFifos, type DumpFifos, type DumpPipe } from './dump-fifo.ts';
import { dumpDatabase } from './dump-stream.ts';
import { restartSignal, type HeldStart, type Neo4jServer } from './server.ts';
import { createStepBack, type StepBack } from './priority.ts';
import { addSegmentedArtifact } from './segmented-save.ts';
import { assertStoreCleanlyStopped } from './store-state.ts';
import { METADATA_STORE_FILE, storeFormatOf } from './store-format.ts';
import { tracePhase } from '../../util/trace.ts';

/** Inputs of {@link offlineDump}. */
export interface OfflineDumpOptions {
  readonly session: BackupSession;
  readonly server: Neo4jServer;
  readonly admin: Neo4jAdmin;
  /** Databases to dump (user databases, usually `system` too). */
  readonly databases: readonly string[];
  /**
   * Every database of the store (`Neo4jAdmin.storeDatabases`). When `databases` covers them all,
   * one `dump '*'` dumps them in one JVM.
   */
  readonly storeDatabases?: readonly string[];
  /**
   * Where the compressed dumps wait while the server starts (a shorter downtime); without it,
   * dumps stream into the repository while the server is down, with no temp file.
   */
  readonly spoolDir?: string;
  /**
   * Niceness of this process from the start command's spawn until Bolt answers, and while
   * neo4j-admin dumps into pipes; `false` to leave it (see `priority.ts`). @default 15
   */
  readonly nice?: number | false;
  readonly signal?: AbortSignal;
}

const DEFAULT_NICE = 15;

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
  return options.spoolDir === undefined
    ? streamedDump(options)
    : spooledDump(options, options.spoolDir);
}

// --- internal ---

/**
 * Each dump streamed into the repository while the server is down; then the start. When the
 * backup covers every database of the store, one `dump '*'` writes them all into named pipes
 * (`dump-fifo.ts`), made before the stop; otherwise one `dump <db> --to-stdout` per database.
 */
async function streamedDump(options: OfflineDumpOptions): Promise<OfflineDumpResult> {
  const { server, admin, signal } = options;
  const o = signal ? { signal } : {};
  const fifos = coversStore(options) ? await makeDumpFifos(options.databases) : undefined;
  const stepBack = createStepBack(options.nice ?? DEFAULT_NICE);
  // With the pipes this process steps back while neo4j-admin dumps; the server's start is
  // spawned now, held, so that it runs at the priority the process has now (a child inherits
  // its spawning thread's), with no privilege needed to step forward first.
  const held = fifos !== undefined ? server.holdStart() : undefined;
  try {
    signal?.throwIfAborted();
    const stopAt = Date.now();
    tracePhase('stop requested');
    // Not cancelled by the signal (stopTimeoutMs bounds it): a stop cut short would leave the
    // server going down with nothing to start it again.
    await server.stop();
    tracePhase('server exited');
    // With the pipes, the server starts as soon as neo4j-admin has exited: the rest of the dumps
    // is in this process's buffers, and is stored while the server starts (this process steps
    // back meanwhile, as in the spooled mode).
    let started: Promise<number> | undefined;
    const start = (): Promise<number> => {
      if (started !== undefined) return started;
      tracePhase('start requested');
      started = startStepped(options, stopAt, stepBack, held);
      started.catch(() => undefined); // awaited below
      return started;
    };
    const records: Record<string, Neo4jDatabaseRecord> = {};
    try {
      if (fifos !== undefined) {
        // While neo4j-admin dumps, only the threads draining its pipes keep their priority.
        const stepBackWhileDumping = (drains: readonly (number | undefined)[]): void =>
          stepBack.back(drains);
        Object.assign(
          records,
          await dumpIntoPipes(options, fifos, stepBackWhileDumping, () => void start()),
        );
      } else {
        for (const db of options.databases) {
          records[db] = await storeDump(options, db, dumpDatabase(admin, db, o));
        }
      }
    } catch (error) {
      if (started !== undefined) {
        // neo4j-admin succeeded (the server is starting); storing failed.
        await started.catch((startError: unknown) => {
          throw startFailedToo(error, startError);
        });
        throw error;
      }
      stepBack.forward();
      try {
        await explainDumpFailure(options);
      } catch (explained) {
        await startAfterFailure(server, explained, held);
        throw explained;
      }
      await startAfterFailure(server, error, held);
      throw error;
    }
    tracePhase('dumps stored');
    // The packs and the index become durable while the server starts: the commit after it
    // writes only the tree and the manifest (crash safety is the commit's: the manifest last).
    const [downtime, flushed] = await Promise.allSettled([start(), flushSession(options)]);
    if (downtime.status === 'rejected') throw downtime.reason;
    if (flushed.status === 'rejected') throw flushed.reason;
    tracePhase('flushed');
    return { records, downtimeMs: downtime.value };
  } finally {
    stepBack.forward();
    held?.cancel();
    await fifos?.remove();
  }
}

/** Flushes the session's packs and index, when the session can (the repository's own). */
async function flushSession(options: OfflineDumpOptions): Promise<void> {
  const session = options.session as Partial<Pick<RepositorySession, 'flush'>>;
  if (typeof session.flush === 'function') await session.flush(options.signal);
}

/**
 * Starts the server; from the start command's spawn until Bolt answers this process steps back
 * (the start decides the downtime; storing can wait). Resolves to the downtime since `stopAt`.
 */
async function startStepped(
  options: OfflineDumpOptions,
  stopAt: number,
  stepBack: StepBack,
  held?: HeldStart,
): Promise<number> {
  const { server } = options;
  // A start spawned now inherits this thread's priority: the process's own where permitted
  // (a held start has it already).
  stepBack.forward();
  try {
    // Cancelling the backup (its signal) must not cancel the start: the server would stay down.
    await server.start({
      signal: restartSignal(),
      ...(held ? { held } : {}),
      onSpawned: () => {
        tracePhase('server spawned');
        stepBack.back();
      },
    });
    tracePhase('bolt answers');
    return Date.now() - stopAt;
  } finally {
    stepBack.forward();
  }
}

/**
 * One `dump '*'` into the pipes, each read into the repository as it is written, up to
 * {@link DUMP_BUFFER_BYTES} per database ahead of it: neo4j-admin, whose run the downtime waits
 * for, does not wait for the repository (chunking, compression, encryption). `onDumping` gets the
 * ids of the threads draining the pipes once they run, if neo4j-admin still runs (so always
 * before `onDumped`); `onDumped` runs once it has exited successfully, while the rest is being
 * stored. A failed store stops neo4j-admin; a failed neo4j-admin ends the readers (its error,
 * with stderr, wins).
 */
async function dumpIntoPipes(
  options: OfflineDumpOptions,
  fifos: DumpFifos,
  onDumping: (drains: readonly (number | undefined)[]) => void,
  onDumped: () => void,
): Promise<Record<string, Neo4jDatabaseRecord>> {
  const { admin, databases, signal } = options;
  const stop = new AbortController();
  const pipes: DumpPipe[] = [];
  try {
    for (const db of databases) pipes.push(fifos.open(db, DUMP_BUFFER_BYTES));
    let dumping = true;
    const dumped = admin
      .run(dumpToPath('*', fifos.dir), {
        signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
      })
      .finally(() => {
        dumping = false;
        for (const p of pipes) p.release();
      });
    void Promise.all(pipes.map((p) => p.thread)).then((drains) => {
      if (dumping) onDumping(drains);
    });
    dumped
      .then(() => {
        tracePhase('neo4j-admin exited');
        if (!stop.signal.aborted) onDumped();
      })
      .catch(() => undefined); // settled below
    const stored = Promise.all(databases.map((db, i) => storeDump(options, db, pipes[i]!.stream)));
    stored.catch((error: unknown) => {
      // Only a running neo4j-admin is stopped: once it has exited, the readers' failure (a
      // stream too short) follows from its own, and its error (stderr) is the one to report.
      if (dumping) stop.abort(error);
      for (const p of pipes) p.stream.destroy();
    });
    const [dump, store] = await Promise.allSettled([dumped, stored]);
    if (dump.status === 'rejected' && !stop.signal.aborted) throw dump.reason;
    if (store.status === 'rejected') throw store.reason;
    if (dump.status === 'rejected') throw dump.reason;
    return Object.fromEntries(databases.map((db, i) => [db, store.value[i]!]));
  } finally {
    for (const p of pipes) {
      p.release();
      p.stream.destroy();
    }
  }
}

/**
 * Bytes of a compressed dump held in memory per database while the repository is behind
 * neo4j-admin. A dump larger than the repository's lag simply waits for it, as without a buffer.
 */
const DUMP_BUFFER_BYTES = 128 * 1024 * 1024;

/** `database dump` of `pattern` (a database or `*`) into `<dir>/<database>.dump`, replacing it. */
function dumpToPath(pattern: string, dir: string): string[] {
  return ['database', 'dump', pattern, `--to-path=${dir}`, '--overwrite-destination=true'];
}

/** The backup covers every database of the store, so one `dump '*'` dumps exactly them. */
function coversStore(options: OfflineDumpOptions): boolean {
  const all = options.storeDatabases;
  const { databases } = options;
  return (
    all !== undefined && all.length === databases.length && all.every((d) => databases.includes(d))
  );
}

/** Dumps into a spool while the server is down; stores them while it starts. */
async function spooledDump(
  options: OfflineDumpOptions,
  spoolDir: string,
): Promise<OfflineDumpResult> {
  const { server, signal } = options;
  const spool = await mkdtemp(join(spoolDir, 'hbr-neo4j-dump-'));
  try {
    signal?.throwIfAborted();
    const stopAt = Date.now();
    await server.stop(); // not cut short by the signal, as in streamedDump
    try {
      await dumpWhileStopped(options, spool);
    } catch (error) {
      await startAfterFailure(server, error);
      throw error;
    }
    // Reading the spool competes with the server's start for the cores; the start decides the
    // downtime, so this process steps back until Bolt answers (measured: 1-4 s less downtime
    // on 2 shared cores).
    const started = startStepped(options, stopAt, createStepBack(options.nice ?? DEFAULT_NICE));
    started.catch(() => undefined); // settled below
    const records: Record<string, Neo4jDatabaseRecord> = {};
    const ingested = (async () => {
      for (const db of options.databases) {
        records[db] = await storeDump(options, db, createReadStream(join(spool, `${db}.dump`)));
      }
    })();
    ingested.catch(() => undefined); // settled below
    const [start, stored] = await Promise.allSettled([started, ingested]);
    if (start.status === 'rejected') throw start.reason;
    if (stored.status === 'rejected') throw stored.reason;
    return { records, downtimeMs: start.value };
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}

/**
 * Dumps into `spool` (`<db>.dump` each). neo4j-admin itself refuses a store that is in use or
 * needs recovery ("Active logical log detected"); only then is `database info` asked, so the
 * error says plainly what is wrong and what to do.
 */
async function dumpWhileStopped(options: OfflineDumpOptions, spool: string): Promise<void> {
  const { admin, databases, signal } = options;
  const o = signal ? { signal } : {};
  try {
    if (coversStore(options)) await admin.run(dumpToPath('*', spool), o);
    else for (const db of databases) await admin.run(dumpToPath(db, spool), o);
  } catch (error) {
    await explainDumpFailure(options);
    throw error;
  }
}

/**
 * After a failed dump: throws the plain "not shut down cleanly" error when `database info` says
 * a store needs recovery or is in use; returns otherwise (the dump's own error then stands).
 */
async function explainDumpFailure(options: OfflineDumpOptions): Promise<void> {
  const { admin, databases, signal } = options;
  const infos = await admin.infoAll(signal ? { signal } : {}).catch(() => []);
  for (const info of infos.filter((i) => databases.includes(i.database))) {
    assertStoreCleanlyStopped(info);
  }
}

/** Unwraps one dump into the repository and returns its record. */
async function storeDump(
  options: OfflineDumpOptions,
  db: string,
  dump: Readable,
): Promise<Neo4jDatabaseRecord> {
  const checkpoints = new Map<number, Buffer>();
  let storeFormat: string | undefined;
  const { format, content } = await unwrapDump(dump, {
    ...(options.signal ? { signal: options.signal } : {}),
    markEntries: true,
    capture: {
      match: (path) => CHECKPOINT_FILE.test(path) || METADATA_STORE.test(path),
      onEntry: (path, data) => {
        if (METADATA_STORE.test(path)) storeFormat = storeFormatOf(data);
        else checkpoints.set(Number(CHECKPOINT_FILE.exec(path)?.[1]), data);
      },
    },
  });
  const artifact = `${db}.dump-content`;
  await addSegmentedArtifact(options.session, artifact, content, {
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const txId = lastCheckpointTxId(checkpoints.get(Math.max(...checkpoints.keys())));
  return {
    artifact,
    kind: 'dump-content',
    format,
    ...(storeFormat !== undefined ? { storeFormat } : {}),
    ...(txId !== undefined ? { lastCommittedTxId: txId } : {}),
  };
}

/** The metadata store in a dump's tar (`./neostore`): it names the store format. */
const METADATA_STORE = new RegExp(`^(?:\\./)?${METADATA_STORE_FILE}$`);

/** Checkpoint logs in a dump's tar: `./checkpoint.<n>`, the highest `n` is the newest. */
const CHECKPOINT_FILE = /^(?:\.\/)?checkpoint\.(\d+)$/;

/**
 * The transaction id of the newest checkpoint in a checkpoint log. Each entry carries its reason
 * as text (5.26: `Checkpoint triggered by "Database shutdown" @ txId: 94, append index: 94`); a
 * store that neo4j-admin agreed to dump was shut down cleanly, so its last checkpoint follows the
 * last committed transaction. Undefined when the text is not there (another version's format).
 */
export function lastCheckpointTxId(log: Buffer | undefined): string | undefined {
  if (log === undefined) return undefined;
  const ids = [...log.toString('latin1').matchAll(/@ txId: (\d+)/g)];
  return ids.at(-1)?.[1];
}

/**
 * Starts the server after a failed dump; a failed start is added to the original error. The
 * failure may be the backup's own cancellation, so the start has a signal of its own.
 */
async function startAfterFailure(
  server: Neo4jServer,
  error: unknown,
  held?: HeldStart,
): Promise<void> {
  try {
    await server.start({ signal: restartSignal(), ...(held ? { held } : {}) });
  } catch (startError) {
    throw startFailedToo(error, startError);
  }
}

/** `error`, with the failed start of the server added. */
function startFailedToo(error: unknown, startError: unknown): SourceError {
  const why = error instanceof Error ? error.message : String(error);
  return new SourceError(
    `${why}; starting Neo4j again failed as well: ${startError instanceof Error ? startError.message : String(startError)}`,
    { cause: error },
  );
}

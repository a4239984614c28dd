/**
 * Named pipes (FIFOs) as the `--to-path` of one `neo4j-admin database dump '*'`, so one JVM
 * streams every database's dump into this process, with no temp file: `--to-stdout` takes one
 * database per JVM, and each JVM start costs about a second of the downtime (measured on 5.26.30,
 * 2 cores: `dump '*'` of neo4j and system 2.5 s, two `dump … --to-stdout` one after the other
 * 4.5-5.8 s). neo4j-admin opens `<dir>/<database>.dump` for writing (with
 * `--overwrite-destination=true` it writes into the existing pipe, verified on 5.26.30).
 *
 * Each pipe is drained by a worker thread of its own, through a non-blocking descriptor (epoll):
 * the main thread, busy storing what was read, would leave neo4j-admin waiting on a full pipe
 * (measured: 10 % of its time, and more once the main thread steps back). Each pipe is also
 * held open for writing by this process, until {@link DumpPipe.release}:
 * a pipe no writer has opened yet would read as empty. Release them once neo4j-admin has
 * exited; then each reader ends after the bytes written, also when neo4j-admin never opened
 * its pipe (it failed, or replaced the pipe with a file).
 * @module
 */
import { execa } from 'execa';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startWorker } from '../../util/worker.ts';
import type { DrainData, DrainReply, DrainRequest } from './dump-pipe-drain.ts';

/** A folder holding one pipe per database. */
export interface DumpFifos {
  readonly dir: string;
  /** Opens the pipe of `database`, read up to `limitBytes` ahead (see {@link DumpPipe}). */
  open(database: string, limitBytes: number): DumpPipe;
  /** Deletes the folder (and whatever neo4j-admin may have written into it). */
  remove(): Promise<void>;
}

/** One opened pipe. */
export interface DumpPipe {
  /**
   * What is written into the pipe, drained by a worker thread of its own (`dump-pipe-drain.ts`)
   * up to `limitBytes` ahead of this stream's reader.
   */
  readonly stream: Readable;
  /** The draining thread's id (Linux), once it runs: it keeps its priority (`priority.ts`). */
  readonly thread: Promise<number | undefined>;
  /** Closes this process's write end: the stream ends once the writers are done. Idempotent. */
  release(): void;
}

/**
 * Makes `<dir>/<database>.dump` pipes in a private temp folder.
 * @returns undefined where pipes cannot be made (Windows, no `mkfifo`): dump one database at a time.
 */
export async function makeDumpFifos(
  databases: readonly string[],
  options: { parent?: string } = {},
): Promise<DumpFifos | undefined> {
  if (process.platform === 'win32') return undefined;
  // mkdtemp makes the folder 0700: only this user can open the pipes.
  const dir = await mkdtemp(join(options.parent ?? tmpdir(), 'hbr-neo4j-fifo-'));
  const path = (database: string) => join(dir, `${database}.dump`);
  try {
    // Node has no mkfifo; coreutils (and BSD) do.
    await execa('mkfifo', ['-m', '600', ...databases.map(path)], { stdin: 'ignore' });
  } catch {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    open: (database, limitBytes) => openPipe(path(database), limitBytes),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

// --- internal ---

function openPipe(path: string, limitBytes: number): DumpPipe {
  // Reader first: a non-blocking open for writing fails (ENXIO) while no reader has the pipe open.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let keeper: number | undefined;
  try {
    keeper = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return {
    ...drain(path, fd, limitBytes),
    release() {
      if (keeper === undefined) return;
      closeSync(keeper);
      keeper = undefined;
    },
  };
}

/** A stream of what the worker (`dump-pipe-drain.ts`) reads from `fd`, which it then owns. */
function drain(path: string, fd: number, limitBytes: number): Omit<DumpPipe, 'release'> {
  const owed = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const data: DrainData = { fd, owed, limitBytes };
  const worker = startWorker('dump-pipe-drain', import.meta.url, { workerData: data });
  const blocks: Buffer[] = [];
  let ended = false;
  let wanted = false;
  const stream = new Readable({
    read() {
      wanted = true;
      give();
    },
    destroy(error, callback) {
      void worker.terminate();
      callback(error);
    },
  });
  const give = (): void => {
    while (wanted && blocks.length > 0) {
      const block = blocks.shift()!;
      const before = Atomics.sub(owed, 0, block.length);
      if (before > limitBytes && before - block.length <= limitBytes) {
        const resume: DrainRequest = { resume: true };
        worker.postMessage(resume);
      }
      wanted = stream.push(block);
    }
    if (ended && blocks.length === 0 && !stream.readableEnded) stream.push(null);
  };
  let threadKnown: (thread: number | undefined) => void = () => undefined;
  const thread = new Promise<number | undefined>((resolve) => (threadKnown = resolve));
  worker.on('message', (reply: DrainReply) => {
    if ('thread' in reply) threadKnown(reply.thread);
    else if ('data' in reply) {
      blocks.push(Buffer.from(reply.data, 0, reply.length));
      give();
    } else if ('end' in reply) {
      ended = true;
      give();
    } else stream.destroy(new Error(`reading the pipe ${path}: ${reply.error}`));
  });
  worker.on('error', (error) => stream.destroy(error));
  worker.on('exit', () => {
    threadKnown(undefined);
    if (!ended) stream.destroy(new Error(`reading the pipe ${path}: its reader stopped`));
  });
  return { stream, thread };
}

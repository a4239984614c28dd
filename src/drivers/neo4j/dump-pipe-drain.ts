/**
 * The worker side of `dump-fifo.ts`: drains one named pipe into blocks of memory handed to the
 * main thread. It does nothing else, so neo4j-admin, which writes the pipe (64 KiB of room),
 * never waits for the main thread's event loop while that thread chunks, hashes and compresses;
 * and this thread can keep its CPU priority while the rest of the process steps back
 * (`priority.ts`). Reads go through its own event loop (epoll), not a blocking `read`: a thread
 * stuck in a system call cannot be terminated, and `process.report` waits for every thread.
 * @module
 */
import { readlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

/** What the main thread gives the worker. */
export interface DrainData {
  /** The pipe's read end, opened non-blocking. */
  readonly fd: number;
  /** Bytes handed over and not yet taken by the main thread's reader (one Int32, shared). */
  readonly owed: Int32Array;
  /** Past this many owed bytes the worker stops reading until told to resume. */
  readonly limitBytes: number;
}

/** What the worker tells the main thread. */
export type DrainReply =
  | { readonly thread: number | undefined }
  | { readonly data: ArrayBuffer; readonly length: number }
  | { readonly end: true }
  | { readonly error: string };

/** What the main thread tells the worker: read again (its owed bytes fell below the limit). */
export interface DrainRequest {
  readonly resume: true;
}

const { fd, owed, limitBytes } = workerData as DrainData;
const port = parentPort!;

/** Bytes per block handed over: few messages, and no block waits long for a full one. */
const BLOCK_BYTES = 1024 * 1024;

let block = Buffer.allocUnsafe(BLOCK_BYTES);
let used = 0;

const reply = (message: DrainReply, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

reply({ thread: ownThreadId() });

const pipe = new Socket({ fd, readable: true, writable: false });
pipe.on('data', (data: Buffer) => {
  for (let at = 0; at < data.length;) {
    const n = data.copy(block, used, at);
    used += n;
    at += n;
    if (used === BLOCK_BYTES) handOver();
  }
  // Past the limit the pipe waits (and neo4j-admin with it) until the main thread catches up.
  if (Atomics.load(owed, 0) > limitBytes) pipe.pause();
});
pipe.on('end', () => {
  if (used > 0) handOver();
  reply({ end: true });
  port.close();
});
pipe.on('error', (error: Error) => {
  reply({ error: error.message });
  port.close();
});
port.on('message', (message: DrainRequest) => {
  if (message.resume && pipe.isPaused()) pipe.resume();
});

// --- internal ---

/** Hands the filled part of the block to the main thread (moved, not copied). */
function handOver(): void {
  Atomics.add(owed, 0, used);
  reply({ data: block.buffer, length: used }, [block.buffer]);
  block = Buffer.allocUnsafe(BLOCK_BYTES);
  used = 0;
}

/** This thread's id for the scheduler (Linux: `/proc/thread-self`), or undefined elsewhere. */
function ownThreadId(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return undefined;
  }
}

/**
 * New files written sequentially past the page cache (`O_DIRECT`). On the virtual machines hbr
 * is measured on, the kernel's page cache pages are memory the guest handed back to its host,
 * and filling them costs more CPU than the data's decryption and decompression together: 1.6 GiB
 * written through the page cache took 3.9 s of system time, the same bytes past it 0.05 s and
 * a quarter of the wall time (`bench/micro/fresh-pages.ts` has the measurements). A restored
 * file is not read back soon, so caching it buys nothing, and leaving the page cache alone spares
 * what the machine's own work keeps there.
 *
 * `O_DIRECT` wants offsets, lengths and memory aligned to the device's blocks: bytes are gathered
 * into aligned pieces of one shared `WebAssembly.Memory` (its base is page-aligned, which a
 * Node.js `Buffer` need not be), the last piece padded with zeros and the file cut back to its
 * length. Where the file system or platform refuses, a file is written through the page cache
 * instead, from the first write that failed, and the writes that follow do the same.
 *
 * A file takes a piece as it is created and holds it to its end, so its writes never wait on
 * another file: when every piece came from a common pool, a restore of seven large files
 * deadlocked, the files holding half-filled pieces waiting for read-ahead memory that the others
 * held while they waited for a piece. More pieces are taken while free and given back once
 * written. A file created while every piece is held by files (none being written to come back) is
 * written through the page cache.
 * @module
 */
import { constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { DIRECT_ALIGN, WASM_PAGE, alignedMemory } from './aligned-memory.ts';
import { copyBytes } from './copy-bytes.ts';
import { O_DIRECT } from './open-flags.ts';
import { settleAll } from './settle-all.ts';

/** Creates files written past the page cache; one per restore, its memory shared by its files. */
export interface DirectWrites {
  /**
   * Creates `path` (it must not exist) for sequential writes past the page cache, or resolves
   * undefined when this platform or file system cannot write so, or every piece of memory is
   * taken by files being written (the caller then writes as usual).
   */
  create(path: string, mode: number): Promise<DirectFile | undefined>;
}

/** A new file being written in order; see {@link DirectWrites}. */
export interface DirectFile {
  /**
   * Copies `length` bytes of `buffer` from `offset` for writing at `position`, which must be
   * where the previous write ended. Resolves once the bytes are copied (the buffer may be reused);
   * a failed write of earlier bytes rejects here or in {@link finish}.
   */
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<void>;
  /**
   * Writes what is gathered, cuts the file to the bytes given, and closes it; with `sync`, after
   * `fdatasync` (the device's own cache flushed), as a store that must survive a crash needs.
   * `before` is given the file's descriptor just before it is closed: a restore sets owner, mode
   * and times through it, never by a path someone may have swapped for a link.
   */
  finish(options?: {
    sync?: boolean;
    before?: (handle: FileHandle) => Promise<void>;
  }): Promise<void>;
  /** Closes the file without writing what is gathered (after a failure; never throws). */
  abort(): Promise<void>;
}

/** Sizes of the shared aligned memory. */
export interface DirectWritesOptions {
  /** Bytes of one piece (a multiple of 64 KiB). @default 1 MiB */
  readonly pieceBytes?: number;
  /**
   * Pieces shared by all files being written: each file takes one as it is created and holds it
   * to its end, and takes more while some are free, each given back once written. @default 8
   */
  readonly pieces?: number;
  /** Pieces one file may have written at once. @default 3 */
  readonly perFile?: number;
  /** How files are opened (tests pass one that refuses as some file systems do). @default fs.open */
  readonly open?: typeof open;
}

/**
 * Files past the page cache, sharing `pieces` × `pieceBytes` of memory, allocated at the first
 * file (a restore without large files allocates none).
 */
export function createDirectWrites(options: DirectWritesOptions = {}): DirectWrites {
  const pieceBytes = options.pieceBytes ?? 1024 * 1024;
  const perFile = options.perFile ?? 3;
  const pool = _lazyPool(pieceBytes, options.pieces ?? 8);
  const state = { refused: O_DIRECT === undefined };
  const openFile = options.open ?? open;
  return {
    async create(path, mode) {
      if (state.refused || O_DIRECT === undefined) return undefined;
      // A piece of its own, or the page cache: a file never waits for pieces that other files
      // hold, which may wait on this one (a restore's files share a read budget).
      let first = pool().take();
      // None free: one being written comes back without waiting on anything else.
      while (!first) {
        const returned = pool().nextReturned();
        if (!returned) return undefined;
        await returned;
        first = pool().take();
      }
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_DIRECT;
      let handle: FileHandle;
      try {
        handle = await openFile(path, flags, mode);
      } catch (error) {
        pool().give(first);
        if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
        // Linux creates the file before it finds the file system cannot write past its cache.
        state.refused = true;
        await rm(path, { force: true });
        return undefined;
      }
      return _directFile(handle, path, pool(), first, perFile, state, openFile);
    },
  };
}

// --- internal ---

/**
 * Aligned pieces. A file holds the one it took at its creation to its end; the others it takes
 * while they are free, and gives each back once written (`returning` meanwhile).
 */
interface _Pool {
  take(): Buffer | undefined;
  give(piece: Buffer): void;
  /** Notes a piece being written that will be given back when written, with `returned`. */
  returning(): void;
  returned(piece: Buffer): void;
  /**
   * Resolves at the next piece given back, or undefined when none is being written to return.
   * Every waiter wakes at each piece given back (another may take it first; it then asks again).
   */
  nextReturned(): Promise<void> | undefined;
}

/** A pool of aligned pieces, created at its first use. */
function _lazyPool(pieceBytes: number, pieces: number): () => _Pool {
  let pool: _Pool | undefined;
  return () => (pool ??= _pool(pieceBytes, pieces));
}

function _pool(pieceBytes: number, pieces: number): _Pool {
  if (pieceBytes % WASM_PAGE !== 0) throw new RangeError(`piece of ${pieceBytes} bytes`);
  const memory = alignedMemory(pieceBytes * pieces);
  const free: Buffer[] = Array.from({ length: pieces }, (_, i) =>
    Buffer.from(memory, i * pieceBytes, pieceBytes),
  );
  let returning = 0;
  const waiting: (() => void)[] = [];
  const give = (piece: Buffer): void => {
    free.push(piece);
    // All of them: a file woken alone that lost the piece to another taker would wait for a
    // return that may never come (the files holding pieces can be waiting on it).
    for (const wake of waiting.splice(0)) wake();
  };
  return {
    take: () => free.pop(),
    give,
    returning: () => void returning++,
    returned: (piece) => {
      returning--;
      give(piece);
    },
    nextReturned: () =>
      returning > 0 ? new Promise<void>((resolve) => waiting.push(resolve)) : undefined,
  };
}

/**
 * A file written from `first`, its own to its end, and from pieces of the pool while some are
 * free, each given back once written: its writes wait only on its own.
 */
function _directFile(
  handle: FileHandle,
  path: string,
  pool: _Pool,
  first: Buffer,
  perFile: number,
  state: { refused: boolean },
  openFile: typeof open,
): DirectFile {
  let spare: Buffer | undefined = first; // `first`, when it is neither filled nor written
  let piece: Buffer | undefined;
  let aborted = false;
  let filled = 0;
  let pieceAt = 0; // file offset of the piece being filled
  let given = 0; // bytes given to write, the file's length
  let cached: Promise<FileHandle> | undefined; // the same file through the page cache, once refused
  const inFlight: Promise<void>[] = [];

  /** Writes `length` bytes of `from` at `at`, past the cache while the file system lets it. */
  const writeOut = async (from: Buffer, length: number, at: number): Promise<void> => {
    let done = 0;
    while (done < length) {
      const bytes = from.subarray(done, length);
      let written: number;
      if (cached) {
        ({ bytesWritten: written } = await (await cached).write(bytes, 0, bytes.length, at + done));
      } else {
        try {
          ({ bytesWritten: written } = await handle.write(bytes, 0, bytes.length, at + done));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
          state.refused = true; // this memory or file system will not do it: no more tries
          cached ??= openFile(path, 'r+');
          continue;
        }
      }
      if (written === 0) throw new Error(`${path}: nothing written at ${at + done}`);
      done += written;
    }
  };

  /** A piece to fill: `first` if spare, else one from the pool, else `first` once written. */
  const nextPiece = async (): Promise<Buffer> => {
    // A write leaves `inFlight` only once settled, so an abort meanwhile still waits for it.
    const oldest = async (): Promise<void> => {
      await inFlight[0];
      void inFlight.shift(); // settled just above
    };
    while (inFlight.length >= perFile) await oldest();
    for (;;) {
      const mine = spare;
      spare = undefined;
      const taken = mine ?? pool.take();
      if (taken) return taken;
      // `first` is being written (a failed write fails this one).
      await oldest();
    }
  };

  const submit = (): void => {
    const full = piece;
    if (!full) return;
    const length = Math.ceil(filled / DIRECT_ALIGN) * DIRECT_ALIGN;
    full.fill(0, filled, length);
    if (full !== first) pool.returning();
    const write = writeOut(full, length, pieceAt).finally(() => {
      if (full === first) spare = first;
      else pool.returned(full);
    });
    write.catch(() => undefined); // awaited in order below
    inFlight.push(write);
    pieceAt += filled;
    piece = undefined;
    filled = 0;
  };

  /** Once no write is in flight: the file's pieces back to the pool. */
  const giveBack = (): void => {
    if (piece && piece !== first) pool.give(piece);
    if (piece === first || spare === first) pool.give(first);
    piece = undefined;
    spare = undefined;
  };

  /** Closes both descriptors, the second even when the first fails to close. */
  const closeAll = async (): Promise<void> => {
    await settleAll([handle.close(), cached?.then((other) => other.close())]);
  };

  return {
    async write(buffer, offset, length, position) {
      if (position !== given) {
        throw new RangeError(`${path}: write at ${position}, expected ${given} (sequential only)`);
      }
      let from = offset;
      const end = offset + length;
      while (from < end) {
        if (!piece) {
          const next = await nextPiece();
          // Aborted while waiting for it: the piece goes back, since abort gave back the rest.
          if (aborted) {
            pool.give(next);
            throw new Error(`${path}: write after abort`);
          }
          piece = next;
        }
        const copied = copyBytes(
          buffer.subarray(from, Math.min(end, from + piece.length - filled)),
          piece,
          filled,
        );
        filled += copied;
        from += copied;
        if (filled === piece.length) submit();
      }
      given += length;
    },
    async finish(options) {
      submit();
      try {
        await settleAll(inFlight.splice(0));
        if (given % DIRECT_ALIGN !== 0) await handle.truncate(given); // the last piece was padded
        if (options?.sync) {
          await handle.datasync();
          if (cached) await (await cached).datasync();
        }
        await options?.before?.(handle);
      } finally {
        giveBack();
        await closeAll();
      }
    },
    async abort() {
      aborted = true;
      await Promise.allSettled(inFlight.splice(0));
      giveBack();
      await closeAll().catch(() => undefined);
    },
  };
}

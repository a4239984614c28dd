/**
 * Makes unwrapped dump content stable across backups of an unchanged store.
 *
 * Neo4j writes PAX extended headers with each file's `atime` (verified on 5.26.30). Reading a
 * file (the server starting, the dump itself) moves its atime, so two dumps of an identical store
 * differ in every header, and every header change costs the repository a chunk. This transform
 * rewrites the digits of each `atime=` value to zeros: same length, so every offset and the PAX
 * record lengths stay valid, and `database load` ignores access times anyway. Everything else
 * passes through untouched. A file of 8 GiB or more has its size in the PAX header's `size=`
 * record (Neo4j's Dumper: commons-compress with BIGNUMBER_POSIX writes 0 in the ustar field),
 * which then decides where its data ends.
 *
 * With `markEntries`, the transform also tells where each tar entry's headers and data begin
 * (object mode, {@link ENTRY_BOUNDARY} between them), so a backup can start a new chunk there:
 * a small file whose state page changes on every restart then costs one small chunk, instead of
 * dragging its neighbours' bytes into a changed 1 MiB chunk. A boundary also follows the first
 * {@link STATE_PAGES_BYTES} of each file's data: GBPTree files (indexes, id files, counts) keep
 * their meta page and two state pages there, and a clean shutdown rewrites those pages even when
 * nothing changed (verified on 5.26.30), while the tree pages after them stay identical.
 * @module
 */
import { Transform, type TransformCallback } from 'node:stream';

const BLOCK = 512;

/** Length of the metadata header (`zstd`, int32, int64, int64) before the tar in zstd dumps. */
export const DUMP_METADATA_LENGTH = 24;

/** Meta page plus two state pages of a GBPTree file (8 KiB pages). */
export const STATE_PAGES_BYTES = 3 * 8192;

/** Emitted between a header group and file data, and between entries, with `markEntries`. */
export const ENTRY_BOUNDARY: unique symbol = Symbol('neo4j dump tar entry boundary');

/** Options of {@link normalizeDumpContent}. */
export interface NormalizeOptions {
  /**
   * Emit {@link ENTRY_BOUNDARY} before each entry's headers and before its data (the readable
   * side is then in object mode: Buffers and the symbol). @default false
   */
  readonly markEntries?: boolean;
  /** Hands over the data of small regular files whose tar path matches (e.g. checkpoint logs). */
  readonly capture?: EntryCapture;
}

/** Which entries {@link NormalizeOptions.capture} collects, and where they go. */
export interface EntryCapture {
  /** Called with each regular file's path in the tar, e.g. `./checkpoint.0`. */
  match(path: string): boolean;
  /** The whole data of a matching file (files over {@link CAPTURE_LIMIT} are skipped). */
  onEntry(path: string, data: Buffer): void;
}

/** Largest file {@link EntryCapture} collects. */
export const CAPTURE_LIMIT = 1024 * 1024;

/** Creates the transform; feed it unwrapped dump content (metadata header optional). */
export function normalizeDumpContent(options: NormalizeOptions = {}): Transform {
  const mark = options.markEntries === true;
  let pending: Buffer = Buffer.alloc(0);
  /** The previous header was a PAX header: the next one belongs to the same entry. */
  let inHeaderGroup = false;
  let started = false;
  /** Bytes of file data still to pass through before the next header. */
  let passBytes = 0;
  /** Bytes of the current file's data passed so far. */
  let passed = 0;
  /** Size of a PAX header body being collected, or -1. */
  let paxBytes = -1;
  /** `path` of the last PAX header (applies to the next file header). */
  let paxPath: string | undefined;
  /** The header being collected is a per-file ('x') PAX header, not a global one. */
  let paxPerFile = false;
  /** `size` of the last per-file PAX header: overrides the next file header's size field. */
  let paxSize: number | undefined;
  /** A file being captured: its path, size and data so far. */
  let captured: { path: string; size: number; parts: Buffer[] } | undefined;

  const step = (out: (Buffer | typeof ENTRY_BOUNDARY)[]): boolean => {
    if (!started) {
      if (pending.length < DUMP_METADATA_LENGTH) return false;
      started = true;
      const skip = pending.subarray(0, 4).toString('latin1') === 'zstd' ? DUMP_METADATA_LENGTH : 0;
      out.push(pending.subarray(0, skip));
      pending = pending.subarray(skip);
      return true;
    }
    if (passBytes > 0) {
      let n = Math.min(passBytes, pending.length);
      if (n === 0) return false;
      const split = mark && passed < STATE_PAGES_BYTES && passed + n >= STATE_PAGES_BYTES;
      if (split) n = STATE_PAGES_BYTES - passed;
      out.push(pending.subarray(0, n));
      if (captured !== undefined) {
        captured.parts.push(Buffer.from(pending.subarray(0, n)));
        if (passed + n >= captured.size) {
          options.capture?.onEntry(
            captured.path,
            Buffer.concat(captured.parts).subarray(0, captured.size),
          );
          captured = undefined;
        }
      }
      pending = pending.subarray(n);
      passBytes -= n;
      passed += n;
      if (split && passBytes > 0) out.push(ENTRY_BOUNDARY);
      return true;
    }
    if (paxBytes >= 0) {
      const padded = roundUp(paxBytes);
      if (pending.length < padded) return false;
      const body = Buffer.from(pending.subarray(0, padded));
      zeroAtime(body.subarray(0, paxBytes));
      const records = body.subarray(0, paxBytes).toString('utf8');
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(records)?.[1];
      const sizeRecord = /(?:^|\n)\d+ size=(\d+)\n/.exec(records)?.[1];
      if (paxPerFile && sizeRecord !== undefined) paxSize = Number(sizeRecord);
      out.push(body);
      pending = pending.subarray(padded);
      paxBytes = -1;
      return true;
    }
    if (pending.length < BLOCK) return false;
    const header = pending.subarray(0, BLOCK);
    if (mark && !inHeaderGroup) out.push(ENTRY_BOUNDARY);
    out.push(header);
    pending = pending.subarray(BLOCK);
    const type = header[156];
    // 'x' (per-file) and 'g' (global) PAX headers are small: collect and rewrite them.
    inHeaderGroup = type === 0x78 || type === 0x67;
    const headerSize = header.every((b) => b === 0) ? 0 : parseSize(header);
    if (inHeaderGroup) {
      paxBytes = headerSize;
      paxPerFile = type === 0x78;
    } else {
      // Without the PAX size, a file of 8 GiB or more would pass as empty and its data be read
      // as headers (and " atime=" in it zeroed).
      const size = paxSize ?? headerSize;
      paxSize = undefined;
      passBytes = roundUp(size);
      passed = 0;
      const path = paxPath ?? headerPath(header);
      paxPath = undefined;
      const regular = type === 0x30 || type === 0;
      if (options.capture && regular && size <= CAPTURE_LIMIT && options.capture.match(path)) {
        if (size === 0) options.capture.onEntry(path, Buffer.alloc(0));
        else captured = { path, size, parts: [] };
      }
      if (mark && passBytes > 0) out.push(ENTRY_BOUNDARY);
    }
    return true;
  };

  return new Transform({
    readableObjectMode: mark,
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const out: (Buffer | typeof ENTRY_BOUNDARY)[] = [];
      while (step(out));
      for (const b of out) if (typeof b === 'symbol' || b.length > 0) this.push(b);
      // Keep only what is needed; pass-through data never waits here.
      pending = Buffer.from(pending);
      callback();
    },
    flush(callback: TransformCallback) {
      // A trailing partial block (only in truncated content) goes out unchanged; load will judge it.
      if (pending.length > 0) this.push(pending);
      callback();
    },
  });
}

// --- internal ---

/** The ustar path: `prefix/name`, NUL-terminated fields. */
function headerPath(header: Buffer): string {
  const field = (from: number, to: number) =>
    header.subarray(from, to).toString('utf8').replace(/\0.*$/s, '');
  const name = field(0, 100);
  const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? field(345, 500) : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

function roundUp(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/** The tar size field: octal text, or base-256 when the high bit of the first byte is set. */
function parseSize(header: Buffer): number {
  const field = header.subarray(124, 136);
  if ((field[0]! & 0x80) !== 0) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** Replaces the digits of every `atime=` record value with '0', in place. */
function zeroAtime(body: Buffer): void {
  const key = Buffer.from(' atime=', 'latin1');
  let at = body.indexOf(key);
  while (at >= 0) {
    let i = at + key.length;
    while (i < body.length && body[i] !== 0x0a) {
      if (body[i]! >= 0x30 && body[i]! <= 0x39) body[i] = 0x30;
      i++;
    }
    at = body.indexOf(key, i);
  }
}

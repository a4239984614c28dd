/**
 * The chunker's cut points found in WebAssembly (gear-scan.wat), for files read straight into
 * the module's memory: a codec worker reads a large file span by span into {@link scanRoom},
 * a piece at a time, and scans each piece with {@link createGearScanner} right after reading it.
 * The scan runs about 1.55x as fast as chunker.ts's JavaScript loop on the benchmark's machine
 * (1.66 against 1.08 GB/s of float32 weights, one core) and needs no copy: the module scans the
 * bytes where they were read, while they are still in the core's cache (reading 400 MB in 16 MiB
 * spans and scanning each after it took 380 ms of CPU, in 512 KiB pieces 317). Where the module
 * cannot be used (a Node.js without WebAssembly) the JavaScript loop cuts, at the same points:
 * both follow chunker.ts's rule, which is part of the repository format. Bytes in other memory
 * (the cut's ring, database streams) are copied into the room 512 KiB at a time and scanned there.
 * @module
 */
import { copyBytes } from '../util/copy-bytes.ts';
import { reusedBuffer } from '../util/reused-buffer.ts';
import { WebAssemblyApi } from '../util/webassembly.ts';
import {
  chunkMasks,
  createLengthScanner,
  validateChunking,
  type ChunkerParams,
  type LengthScanner,
} from './chunker.ts';
import { WASM_BASE64 } from './gear-scan-wasm.ts';

/**
 * A buffer of at least `length` bytes to read a file into, in the module's memory: kept for
 * reuse as `reusedBuffer` keeps one (the caller must be done with it before the next call, whose
 * growth may move it). Plain memory where the module cannot be used or for over 1 GiB.
 */
export function scanRoom(length: number): Buffer {
  const module = _instance();
  if (!module || length > _MAX_ROOM) return _plainRoom(length);
  if (module.room.length < length) {
    try {
      _grow(module, length);
    } catch {
      return _plainRoom(length); // no memory for the module to grow into: cut in JavaScript
    }
  }
  return module.room;
}

/**
 * A {@link LengthScanner} that scans in WebAssembly: a piece of the stream that lies in
 * {@link scanRoom}'s buffer (a span read there piece after piece) is scanned where it lies, best
 * right after it was read, while it is in the core's cache; a piece in other memory (the cut's
 * ring, a database stream's feeds) is copied into the room {@link SCAN_PIECE} bytes at a time
 * and scanned there, which costs less than the scan gains (256 MiB cut in 8 MiB feeds: 1.62 GB/s
 * against 1.32 for chunker.ts's loop, in 64 KiB feeds 1.55 against 1.19). The same lengths as
 * chunker.ts's `createLengthScanner`, which it is where the module cannot be used.
 * @throws RangeError on invalid parameters or a table that is not 256 entries.
 */
export function createGearScanner(gear: Int32Array, params: ChunkerParams): LengthScanner {
  const module = _instance();
  if (!module) return createLengthScanner(gear, params);
  validateChunking(gear, params);
  const { min, avg, max } = params;
  const { strict, loose } = chunkMasks(params);
  // Stream positions: the current chunk's start, the next byte to hash, the end of the bytes
  // given. Position p of the piece being scanned lies at the module's address `at + p`.
  let start = 0;
  let next = min;
  let end = 0;
  let hash = 0;
  let at = 0;
  /** The next cut in the bytes given so far, or -1 (then `next` and `hash` say how far). */
  const nextCut = (): number => {
    // The strict mask before the chunk's `avg`th byte, the loose one from there to `max`. Every
    // byte before the piece has been hashed (`next` is at its start or beyond).
    for (const [until, mask] of [
      [start + avg, strict],
      [start + max, loose],
    ] as const) {
      if (next >= until) continue;
      const stop = Math.min(until, end);
      const cut = module.scan(at + next, at + stop, hash, mask);
      if (cut >= 0) return cut - at;
      hash = module.hash[0]!;
      next = Math.max(next, stop);
      if (next < until) return -1;
    }
    return start + max <= end ? start + max : -1;
  };
  /** The lengths of the chunks ending in `piece`, which lies in the room. */
  const scanInRoom = (piece: Buffer, lengths: number[]): void => {
    at = piece.byteOffset - end;
    end += piece.length;
    module.table.set(gear); // another scanner in this thread may have put its own there
    for (let cut = nextCut(); cut >= 0; cut = nextCut()) {
      lengths.push(cut - start);
      start = cut;
      next = cut + min;
      hash = 0;
    }
  };
  const inRoom = (piece: Buffer): boolean =>
    piece.buffer === module.room.buffer && piece.byteOffset >= _DATA_AT;
  return {
    scan(data) {
      const lengths: number[] = [];
      if (inRoom(data)) {
        scanInRoom(data, lengths);
        return lengths;
      }
      for (let from = 0; from < data.length; from += SCAN_PIECE) {
        const piece = data.subarray(from, from + SCAN_PIECE);
        const room = scanRoom(piece.length);
        if (!inRoom(room)) throw new RangeError('[chunker] no memory for the scan to grow into');
        copyBytes(piece, room);
        scanInRoom(room.subarray(0, piece.length), lengths);
      }
      return lengths;
    },
    finish() {
      const last = end - start;
      start = 0;
      end = 0;
      hash = 0;
      at = 0;
      next = min;
      return last;
    },
  };
}

/**
 * Bytes scanned at a time, read into the room or copied there: well inside a core's 2 MiB of L2
 * cache on the benchmark's machine, so the scan reads them from the cache.
 */
export const SCAN_PIECE = 512 * 1024;

// --- internal ---

/** Where the module keeps the gear table, the hash a scan leaves, and the bytes to cut. */
const _TABLE_AT = 0;
const _HASH_AT = 1024;
const _DATA_AT = 65536;
const _PAGE = 65536;
/** Positions stay far below 2^31, where the module's i32 results would turn negative. */
const _MAX_ROOM = 1024 * 1024 * 1024;

interface _GearScan {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly scan: (from: number, stop: number, hash: number, mask: number) => number;
  /** Views of the memory; made again when it grows (growing detaches the old ones). */
  table: Int32Array;
  hash: Int32Array;
  room: Buffer;
}

let _module: _GearScan | null | undefined;
const _plainRoom = reusedBuffer();

/** This thread's instance, compiled on first use; null where it cannot be. */
function _instance(): _GearScan | null {
  if (_module === undefined) {
    try {
      const module = new WebAssemblyApi.Module(Buffer.from(WASM_BASE64, 'base64'));
      const exports = new WebAssemblyApi.Instance(module, {}).exports as Pick<
        _GearScan,
        'memory' | 'scan'
      >;
      _module = { memory: exports.memory, scan: exports.scan, ..._views(exports.memory.buffer) };
    } catch {
      _module = null; // chunker.ts's loop cuts
    }
  }
  return _module;
}

/** Grows the module's memory to hold `length` bytes from {@link _DATA_AT}. */
function _grow(module: _GearScan, length: number): void {
  const pages = Math.ceil((_DATA_AT + length) / _PAGE) - module.memory.buffer.byteLength / _PAGE;
  module.memory.grow(pages);
  Object.assign(module, _views(module.memory.buffer));
}

function _views(buffer: ArrayBuffer): Pick<_GearScan, 'table' | 'hash' | 'room'> {
  return {
    table: new Int32Array(buffer, _TABLE_AT, 256),
    hash: new Int32Array(buffer, _HASH_AT, 1),
    room: Buffer.from(buffer, _DATA_AT, buffer.byteLength - _DATA_AT),
  };
}

/**
 * The chunker's cut points found in WebAssembly (gear-scan.wat), for files read straight into
 * the module's memory: a codec worker reads each span of a large file into {@link scanRoom}
 * and takes its chunks' lengths with {@link scanChunkLengths}. The scan there runs about 1.55x
 * as fast as chunker.ts's JavaScript loop on the benchmark's machine (1.66 against 1.08 GB/s of
 * float32 weights, one core), with no copy: the module scans the bytes where they were read.
 * Elsewhere (bytes in other memory, a Node.js without WebAssembly) the JavaScript loop cuts, at
 * the same points: both follow chunker.ts's rule, which is part of the repository format.
 * @module
 */
import { reusedBuffer } from '../util/reused-buffer.ts';
import { WebAssemblyApi } from '../util/webassembly.ts';
import { chunkLengths, chunkMasks, validateChunkerParams, type ChunkerParams } from './chunker.ts';
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
 * The lengths of the chunks `data` holds from its start, exactly as
 * `chunkLengths(gear, params, data, final)` gives them; scanned in WebAssembly when `data` is
 * a view of {@link scanRoom}'s buffer from its start.
 * @throws RangeError on invalid parameters or a table that is not 256 entries.
 */
export function scanChunkLengths(
  gear: Int32Array,
  params: ChunkerParams,
  data: Buffer,
  final: boolean,
): number[] {
  const module = _instance();
  if (!module || data.buffer !== module.room.buffer || data.byteOffset !== _DATA_AT) {
    return chunkLengths(gear, params, data, final);
  }
  validateChunkerParams(params);
  if (gear.length !== 256) throw new RangeError('[chunker] gear table must have 256 entries');
  module.table.set(gear);
  const { min, avg, max } = params;
  const { strict, loose } = chunkMasks(params);
  const end = data.length;
  const lengths: number[] = [];
  // A chunk from `start`: the strict mask from its `min`th byte up to `avg`, the loose one from
  // there (the hash going on) up to `max`; cut after `max` bytes if neither finds a cut.
  for (let start = 0; ;) {
    const strictEnd = Math.min(start + avg, end);
    let cut = module.scan(_DATA_AT + start + min, _DATA_AT + strictEnd, 0, strict);
    if (cut < 0) {
      const from = Math.max(start + min, strictEnd);
      const to = Math.min(start + max, end);
      cut = module.scan(_DATA_AT + from, _DATA_AT + to, module.hash[0]!, loose);
    }
    let length: number;
    if (cut >= 0) length = cut - _DATA_AT - start;
    else if (start + max <= end) length = max;
    else {
      if (final && start < end) lengths.push(end - start);
      return lengths;
    }
    lengths.push(length);
    start += length;
  }
}

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

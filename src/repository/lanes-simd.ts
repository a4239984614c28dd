/**
 * The byte lanes' 4x4 transposition (byte-lanes.ts) in WebAssembly SIMD (lanes-simd.wat): a
 * block of up to 64 KiB of the blob is copied into the module's memory (memcpy, whatever memory
 * it lies in), regrouped there 64 bytes at a time by vector shuffles and copied out. About 15 GB/s
 * joining and 9 splitting on the benchmark's machine, copies included, where JavaScript on 32-bit
 * words did 3 either way: a `check --read-data` of the benchmark's data set spent 0.44 s of CPU
 * joining, and about 0.15 s now. Each thread (the codec workers decode and encode) compiles its
 * own instance on first use: 654 bytes, well under a millisecond.
 * @module
 */
import { copyBytes } from '../util/copy-bytes.ts';
import { WebAssemblyApi } from '../util/webassembly.ts';
import { WASM_BASE64 } from './lanes-simd-wasm.ts';

/**
 * Splits the whole 64-byte groups at the start of `data` into `lanes` (lane k's byte i is byte
 * 4i + k of `data`); returns how many bytes that is (the rest is the caller's), or 0 where this
 * Node.js runs no WebAssembly SIMD. `lanes` must be long enough.
 */
export function splitGroups(data: Uint8Array, lanes: readonly Uint8Array[]): number {
  const simd = _instance();
  if (!simd) return 0;
  return _inBlocks(data.length, (at, bytes, n) => {
    copyBytes(data.subarray(at, at + bytes), simd.memory, _BLOB_AT);
    simd.split(n);
    for (let k = 0; k < 4; k++) {
      copyBytes(simd.memory.subarray(k * n, (k + 1) * n), lanes[k]!, at / 4);
    }
  });
}

/**
 * The inverse of {@link splitGroups}: the whole 64-byte groups at the start of `out` from
 * `lanes`; returns how many bytes that is, or 0 without WebAssembly SIMD.
 */
export function joinGroups(lanes: readonly Uint8Array[], out: Uint8Array): number {
  const simd = _instance();
  if (!simd) return 0;
  return _inBlocks(out.length, (at, bytes, n) => {
    for (let k = 0; k < 4; k++)
      copyBytes(lanes[k]!.subarray(at / 4, at / 4 + n), simd.memory, k * n);
    simd.join(n);
    copyBytes(simd.memory.subarray(_BLOB_AT, _BLOB_AT + bytes), out, at);
  });
}

// --- internal ---

/** Blob bytes per call: the module's second page (its lanes fill the first, 16 KiB each). */
const _BLOCK = 65536;
/** Where the module's functions find or leave the blob's bytes. */
const _BLOB_AT = 65536;

/**
 * Calls `each` for the blocks of the whole 64-byte groups of a blob of `length` bytes: the block's
 * start and bytes, and `n`, its bytes per lane; returns the bytes they cover.
 */
function _inBlocks(length: number, each: (at: number, bytes: number, n: number) => void): number {
  const whole = length - (length % 64);
  for (let at = 0; at < whole; at += _BLOCK) {
    const bytes = Math.min(_BLOCK, whole - at);
    each(at, bytes, bytes / 4);
  }
  return whole;
}

interface _Simd {
  readonly memory: Buffer;
  split(n: number): void;
  join(n: number): void;
}

let _simd: _Simd | null | undefined;

/** This thread's instance, compiled on first use; null where it cannot be (no SIMD). */
function _instance(): _Simd | null {
  if (_simd === undefined) {
    try {
      const module = new WebAssemblyApi.Module(Buffer.from(WASM_BASE64, 'base64'));
      const exports = new WebAssemblyApi.Instance(module, {}).exports as {
        memory: { buffer: ArrayBuffer };
        split: (n: number) => void;
        join: (n: number) => void;
      };
      _simd = {
        memory: Buffer.from(exports.memory.buffer),
        split: exports.split,
        join: exports.join,
      };
    } catch {
      _simd = null; // the callers regroup byte by byte
    }
  }
  return _simd;
}

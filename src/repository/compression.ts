/**
 * zstd for blob payloads, synchronous and into the caller's memory. Uses `zstd-napi` (libzstd
 * built from source at install), else `node:zlib` where it has zstd (Node >= 22.15). Both write
 * plain zstd frames, so either reads what the other, or an earlier hbr, wrote.
 *
 * Synchronous because the work is done on threads of our own (the codec workers): a trip to the
 * libuv pool per call cost about 100 us of CPU on this VM, more than decoding a small blob, and
 * the pool's threads each kept tens of MB of decompressor output waiting for the garbage
 * collector. Into the caller's memory because that memory is reused blob after blob, where fresh
 * buffers are slow on first touch here. libzstd also decodes float32 weights at ~1.2 GB/s a core,
 * three times what the napi-rs binding used before did (docs/benchmarks.md).
 * @module
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { IntegrityError } from '../errors.ts';
import { copyBytes } from '../util/copy-bytes.ts';

/** Which zstd implementation this module uses. */
export type ZstdBackend = 'zstd-napi' | 'node:zlib';

/**
 * Keep a compressed payload only when it is at most this fraction of its input: below a 3 %
 * gain, storing raw saves the decompression on every read. Float32 model weights shrink by about
 * 7 % whole and stay compressed: storing them raw (a 10 % rule) cut a first backup's CPU by a
 * tenth but made the repository 8 % larger and a new model version's growth exceed restic's
 * (docs/benchmarks.md, 2026-12-02). Since 2026-12-05 they are stored as byte lanes instead
 * (byte-lanes.ts): 16 % smaller, for less CPU than whole compression both ways.
 */
export const KEEP_COMPRESSED_RATIO = 0.97;

/** Bytes of a chunk that {@link worthCompressing} compresses to decide. */
export const COMPRESSION_SAMPLE_SIZE = 64 * 1024;

/** The backend in use. */
export function zstdBackend(): ZstdBackend {
  return _backend().name;
}

/** The largest frame {@link compressInto} can write for `length` bytes (zstd's own bound). */
export function compressBound(length: number): number {
  const small = 128 * 1024;
  return length + (length >>> 8) + (length < small ? (small - length) >>> 11 : 0);
}

/**
 * Compresses `data` into one zstd frame written at the start of `out`, which needs
 * {@link compressBound} bytes; returns the frame's length.
 * @param level - zstd level: 1 (fast) to 19 (strong), negative for faster still; 3 is zstd's default.
 * @throws RangeError when `level` is not an integer in [-131072, 22] or `out` is too small.
 */
export function compressInto(data: Uint8Array, level: number, out: Uint8Array): number {
  if (!Number.isInteger(level) || level < -131072 || level > 22) {
    throw new RangeError(`[zstd] invalid compression level ${level}`);
  }
  if (out.length < compressBound(data.length)) {
    throw new RangeError(`[zstd] ${out.length} bytes of room for ${data.length} bytes`);
  }
  return _backend().compressInto(data, level, out);
}

/**
 * {@link compressInto} tuned for bytes with no repeats worth finding but few distinct values
 * (the exponent lane of model weights, see byte-lanes.ts): the match finder skips ahead fast
 * (matches of 7 bytes and more, acceleration 4096) and the literals are always entropy-coded.
 * On that lane of float32 weights: 0.34 of its size at about 1.2 GB/s a core, where level 1
 * gives 0.39 at 0.27 GB/s (its matches of a few bytes each cost more than they save); the frames
 * also decode twice as fast. Through the `node:zlib` fallback it is plain level 1 (the frames
 * read back the same either way).
 */
export function compressLaneInto(data: Uint8Array, out: Uint8Array): number {
  if (out.length < compressBound(data.length)) {
    throw new RangeError(`[zstd] ${out.length} bytes of room for ${data.length} bytes`);
  }
  return _backend().compressLaneInto(data, out);
}

/** {@link compressInto} into fresh memory of the frame's size. */
export function compress(data: Uint8Array, level: number): Buffer {
  const out = Buffer.allocUnsafe(compressBound(data.length));
  return Buffer.from(out.subarray(0, compressInto(data, level, out)));
}

/**
 * Decompresses one zstd frame into the start of `out`; returns the decoded length. Output that
 * would not fit in `out` is refused (the decoder stops there: memory stays bounded even for input
 * that was not authenticated), as are truncated frames and trailing bytes.
 * @throws IntegrityError when `frame` is not one valid zstd frame or decodes to more than `out`.
 */
export function decompressInto(frame: Uint8Array, out: Uint8Array): number {
  _checkFrameWithin(frame, out.length);
  try {
    return _backend().decompressInto(frame, out);
  } catch (error) {
    const what = /small|larger/i.test((error as Error).message)
      ? `output over the limit ${out.length}`
      : 'corrupt or truncated frame';
    throw new IntegrityError(`[zstd] cannot decompress: ${what}`, { cause: error });
  }
}

/** {@link decompressInto} into fresh memory of at most `maxSize` bytes. */
export function decompress(frame: Uint8Array, maxSize: number): Buffer {
  const out = Buffer.allocUnsafe(maxSize);
  return out.subarray(0, decompressInto(frame, out));
}

/**
 * Decides whether compressing a chunk is worth trying, by compressing its
 * {@link compressionSample} at level 1: false when the sample does not shrink to `keepRatio` of
 * its size (random, encrypted or already compressed data; float32 weights pass at the default
 * ratio, they shrink by about 7 %).
 */
export function worthCompressing(chunk: Uint8Array, keepRatio = KEEP_COMPRESSED_RATIO): boolean {
  if (chunk.length < 64) return false;
  return sampleRatio(compressionSample(chunk)) <= keepRatio;
}

/**
 * A chunk itself, or when larger than {@link COMPRESSION_SAMPLE_SIZE}, a sample of that size:
 * four slices spread from the chunk's start to its end (so a chunk that turns into a zero-filled
 * region halfway is still compressed), each starting at a multiple of 4 bytes into the chunk
 * (so the sample's bytes keep their place within any 2- or 4-byte values the chunk holds). The
 * sample is this thread's, valid until the next call.
 */
export function compressionSample(chunk: Uint8Array): Uint8Array {
  if (chunk.length <= COMPRESSION_SAMPLE_SIZE) return chunk;
  const part = COMPRESSION_SAMPLE_SIZE / 4;
  const step = (chunk.length - part) / 3;
  for (let i = 0; i < 4; i++) {
    const at = Math.floor(i * step) & ~3;
    copyBytes(chunk.subarray(at, at + part), _sampleBuffer, i * part);
  }
  return _sampleBuffer;
}

/** The size of `sample` compressed at level 1, as a fraction of its size. */
export function sampleRatio(sample: Uint8Array): number {
  return compressInto(sample, 1, _sampleFrame) / sample.length;
}

// --- internal ---

/** Reused by {@link worthCompressing} on this thread (each worker has its own module). */
const _sampleBuffer = Buffer.allocUnsafe(COMPRESSION_SAMPLE_SIZE);
const _sampleFrame = Buffer.allocUnsafe(compressBound(COMPRESSION_SAMPLE_SIZE));

interface _Backend {
  readonly name: ZstdBackend;
  compressInto(data: Uint8Array, level: number, out: Uint8Array): number;
  compressLaneInto(data: Uint8Array, out: Uint8Array): number;
  decompressInto(frame: Uint8Array, out: Uint8Array): number;
}

/** The subset of `zstd-napi/binding` used here. */
interface _ZstdNapi {
  CCtx: new () => {
    compress(dst: Uint8Array, src: Uint8Array, level: number): number;
    compress2(dst: Uint8Array, src: Uint8Array): number;
    setParameter(param: number, value: number): void;
  };
  CParameter: { compressionLevel: number; minMatch: number; targetLength: number };
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
}

/** `node:zlib`'s synchronous zstd functions when this Node.js has them (not in @types/node 20). */
interface _NodeZstd {
  zstdCompressSync(data: Uint8Array, options: { params: Record<number, number> }): Buffer;
  zstdDecompressSync(data: Uint8Array, options: { maxOutputLength: number }): Buffer;
  constants: { ZSTD_c_compressionLevel: number };
}

let backend: _Backend | undefined;

/**
 * The backend, chosen on first use: `zstd-napi` with one compression and one decompression
 * context per thread, reused call after call; else `node:zlib`, whose results are copied into
 * the caller's memory.
 */
function _backend(): _Backend {
  backend ??= _zstdNapi() ?? _nodeZlib();
  return backend;
}

function _zstdNapi(): _Backend | undefined {
  let binding: _ZstdNapi;
  try {
    binding = createRequire(import.meta.url)('zstd-napi/binding') as _ZstdNapi;
  } catch {
    return undefined;
  }
  const cctx = new binding.CCtx();
  const dctx = new binding.DCtx();
  // Its settings last for every frame it makes (compress2 keeps them, compress would not).
  const lane = new binding.CCtx();
  const { compressionLevel, minMatch, targetLength } = binding.CParameter;
  lane.setParameter(compressionLevel, 1);
  lane.setParameter(minMatch, 7);
  lane.setParameter(targetLength, 4096);
  lane.setParameter(_ZSTD_C_LITERAL_COMPRESSION_MODE, _ZSTD_PS_ENABLE);
  return {
    name: 'zstd-napi',
    compressInto: (data, level, out) => cctx.compress(out, data, level),
    compressLaneInto: (data, out) => lane.compress2(out, data),
    decompressInto: (frame, out) => dctx.decompress(out, frame),
  };
}

function _nodeZlib(): _Backend {
  const z = zlib as unknown as Partial<_NodeZstd>;
  if (typeof z.zstdCompressSync !== 'function') {
    throw new Error(
      '[zstd] no zstd: the zstd-napi package did not build (run `npm rebuild zstd-napi`; it ' +
        'needs a C++ compiler) and this Node.js has no built-in zstd (Node >= 22.15 has)',
    );
  }
  const node = z as _NodeZstd;
  const copy = (from: Buffer, out: Uint8Array): number => {
    if (from.length > out.length) throw new Error('[zstd] destination buffer is too small');
    return copyBytes(from, out);
  };
  const compressInto = (data: Uint8Array, level: number, out: Uint8Array): number =>
    copy(
      node.zstdCompressSync(data, {
        params: { [node.constants.ZSTD_c_compressionLevel]: level },
      }),
      out,
    );
  return {
    name: 'node:zlib',
    compressInto,
    compressLaneInto: (data, out) => compressInto(data, 1, out),
    decompressInto: (frame, out) =>
      copy(node.zstdDecompressSync(frame, { maxOutputLength: Math.max(1, out.length) }), out),
  };
}

const _MAGIC = 0xfd2fb528;
/** `ZSTD_c_literalCompressionMode` (`ZSTD_c_experimentalParam5` in zstd.h) and `ZSTD_ps_enable`. */
const _ZSTD_C_LITERAL_COMPRESSION_MODE = 1002;
const _ZSTD_PS_ENABLE = 1;

/**
 * {@link _checkFrame}, and refuses a frame that declares more than `maxSize` bytes before
 * anything is decoded.
 */
function _checkFrameWithin(data: Uint8Array, maxSize: number): void {
  const declared = _checkFrame(data);
  if (declared !== undefined && declared > maxSize) {
    throw new IntegrityError(`[zstd] frame declares ${declared} bytes, over the limit ${maxSize}`);
  }
}

/**
 * Checks that `data` is exactly one complete zstd frame (header, blocks up to the last one,
 * optional checksum, nothing after) and returns the content size its header declares, if any.
 * `node:zlib` returns what it could decode from a truncated frame without an error; this walk
 * catches that, and costs one step per 128 KiB block.
 * @throws IntegrityError when it is not.
 */
function _checkFrame(data: Uint8Array): number | undefined {
  const fail = (what: string): never => {
    throw new IntegrityError(`[zstd] cannot decompress: ${what}`);
  };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 6 || view.getUint32(0, true) !== _MAGIC) fail('not a zstd frame');
  const descriptor = data[4]!;
  const singleSegment = (descriptor >> 5) & 1;
  const sizeBytes = [singleSegment, 2, 4, 8][descriptor >> 6]!;
  const sizeAt = 5 + (1 - singleSegment) + [0, 1, 2, 4][descriptor & 3]!;
  let at = sizeAt + sizeBytes;
  for (let last = 0; !last;) {
    if (at + 3 > data.length) fail('truncated frame');
    const header = view.getUint16(at, true) | (data[at + 2]! << 16);
    last = header & 1;
    at += 3 + (((header >> 1) & 3) === 1 ? 1 : header >>> 3);
  }
  if (at + ((descriptor >> 2) & 1) * 4 !== data.length) fail('truncated frame or trailing bytes');
  if (sizeBytes === 1) return view.getUint8(sizeAt);
  if (sizeBytes === 2) return view.getUint16(sizeAt, true) + 256;
  if (sizeBytes === 4) return view.getUint32(sizeAt, true);
  if (sizeBytes === 8) return Number(view.getBigUint64(sizeAt, true));
  return undefined;
}

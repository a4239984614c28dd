/**
 * zstd for blob payloads. Uses `node:zlib` where it has zstd (Node >= 22.15), else
 * `@mongodb-js/zstd` 1.2 (prebuilt napi-rs binary from npm). Both run on the libuv thread pool,
 * so several calls in flight use several cores. Both write plain zstd frames, so either reads what
 * the other wrote.
 * @module
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { IntegrityError } from '../errors.ts';

/** Which zstd implementation {@link compress} and {@link decompress} use. */
export type ZstdBackend = 'node:zlib' | '@mongodb-js/zstd';

/**
 * Keep a compressed payload only when it is at most this fraction of its input: below a 3 %
 * gain, storing raw saves the decompression on every read. Float32 model weights shrink by about
 * 7 % and stay compressed: storing them raw (a 10 % rule) cut a first backup's CPU by a tenth
 * but made the repository 8 % larger and a new model version's growth exceed restic's
 * (docs/benchmarks.md, 2026-12-02).
 */
export const KEEP_COMPRESSED_RATIO = 0.97;

/** Bytes of a chunk that {@link worthCompressing} compresses to decide. */
export const COMPRESSION_SAMPLE_SIZE = 64 * 1024;

/** The backend in use on this Node.js. */
export function zstdBackend(): ZstdBackend {
  return _nodeZstd() ? 'node:zlib' : '@mongodb-js/zstd';
}

/**
 * Compresses `data` into one zstd frame.
 * @param level - zstd level: 1 (fast) to 19 (strong), negative for faster still; 3 is zstd's default.
 * @throws RangeError when `level` is not an integer in [-131072, 22].
 */
export async function compress(data: Uint8Array, level: number): Promise<Buffer> {
  if (!Number.isInteger(level) || level < -131072 || level > 22) {
    throw new RangeError(`[zstd] invalid compression level ${level}`);
  }
  const node = _nodeZstd();
  if (node) {
    const params = { [node.constants.ZSTD_c_compressionLevel]: level };
    // One output buffer for the whole frame: the 16 KiB default cost 25-40 % in throughput.
    const chunkSize = data.length + 64 * 1024;
    return _call((cb) => node.zstdCompress(data, { params, chunkSize }, cb));
  }
  return _mongo().compress(_buffer(data), level);
}

/**
 * Decompresses one zstd frame, refusing output larger than `maxSize` bytes, truncated frames and
 * trailing bytes. Pass the exact size when it is known (the blob codec does): `node:zlib` sizes its
 * output buffer from it and enforces the limit while decoding. `@mongodb-js/zstd` can only check
 * the size a frame header declares (ours declare none) and the result, so there memory is bounded
 * only for authenticated input (the blob codec decrypts and verifies before it decompresses).
 * @throws IntegrityError when `data` is not a valid zstd frame or decodes to more than `maxSize`.
 */
export async function decompress(data: Uint8Array, maxSize: number): Promise<Buffer> {
  _checkFrameWithin(data, maxSize);
  let out: Buffer;
  try {
    const node = _nodeZstd();
    if (node) {
      const maxOutputLength = Math.max(1, maxSize);
      const chunkSize = Math.max(64, Math.min(maxSize, 16 * 1024 * 1024));
      out = await _call((cb) => node.zstdDecompress(data, { maxOutputLength, chunkSize }, cb));
    } else {
      out = await _mongo().decompress(_buffer(data));
    }
  } catch (error) {
    const tooLarge = (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
    const what = tooLarge ? `output over the limit ${maxSize}` : 'corrupt or truncated frame';
    throw new IntegrityError(`[zstd] cannot decompress: ${what}`, { cause: error });
  }
  if (out.length > maxSize) {
    throw new IntegrityError(`[zstd] output of ${out.length} bytes over the limit ${maxSize}`);
  }
  return out;
}

/**
 * Decompresses several zstd frames, each checked as {@link decompress} checks one, in one call of
 * the decompressor: the outputs are the frames' own, in order, split by `sizes`. Each call is a
 * trip to the libuv thread pool, and on this VM the thread wake-ups cost about 100 µs of CPU, far
 * more than decoding a small blob: 20,000 JSON artifacts took 2.6-3.0 s one call each and 1.1 s
 * fifty frames a call (zstd decodes concatenated frames one after another). The split trusts the
 * sizes; a caller that cannot (frames it did not authenticate) checks each output.
 * @throws IntegrityError when a frame is not one complete zstd frame or declares more than its
 *   size, or when the outputs together are not as long as `sizes`.
 */
export async function decompressEach(
  frames: readonly Uint8Array[],
  sizes: readonly number[],
): Promise<Buffer[]> {
  if (frames.length !== sizes.length) throw new RangeError('[zstd] one size per frame');
  if (frames.length === 1) return [await decompress(frames[0]!, sizes[0]!)];
  if (_nodeZstd()) return Promise.all(frames.map((frame, i) => decompress(frame, sizes[i]!)));
  let total = 0;
  for (const [i, frame] of frames.entries()) {
    _checkFrameWithin(frame, sizes[i]!);
    total += sizes[i]!;
  }
  let out: Buffer;
  try {
    out = await _mongo().decompress(Buffer.concat(frames));
  } catch (error) {
    throw new IntegrityError('[zstd] cannot decompress: corrupt frame', { cause: error });
  }
  if (out.length !== total) {
    throw new IntegrityError(`[zstd] frames decoded to ${out.length} bytes, ${total} expected`);
  }
  let at = 0;
  return sizes.map((size) => out.subarray(at, (at += size)));
}

/**
 * Decides whether compressing a chunk is worth trying, by compressing a
 * {@link COMPRESSION_SAMPLE_SIZE}-byte sample at level 1: false when the sample does not shrink to
 * `keepRatio` of its size (random, encrypted or already compressed data; float32 weights pass at
 * the default ratio, they shrink by about 7 %). The
 * sample is four slices spread from the chunk's start to its end, so a chunk that turns into a
 * zero-filled region halfway is still compressed. Costs 0.03-0.2 ms per chunk; see
 * `bench/micro/compression.ts`.
 */
export async function worthCompressing(
  chunk: Uint8Array,
  keepRatio = KEEP_COMPRESSED_RATIO,
): Promise<boolean> {
  if (chunk.length < 64) return false;
  let sample = chunk;
  if (chunk.length > COMPRESSION_SAMPLE_SIZE) {
    const part = COMPRESSION_SAMPLE_SIZE / 4;
    const step = (chunk.length - part) / 3;
    sample = Buffer.allocUnsafe(COMPRESSION_SAMPLE_SIZE);
    for (let i = 0; i < 4; i++) {
      const at = Math.floor(i * step);
      sample.set(chunk.subarray(at, at + part), i * part);
    }
  }
  const compressed = await compress(sample, 1);
  return compressed.length <= sample.length * keepRatio;
}

// --- internal ---

type _Callback = (error: Error | null, result: Buffer) => void;

interface _NodeZstd {
  zstdCompress(
    data: Uint8Array,
    options: { params: Record<number, number>; chunkSize: number },
    cb: _Callback,
  ): void;
  zstdDecompress(
    data: Uint8Array,
    options: { maxOutputLength: number; chunkSize: number },
    cb: _Callback,
  ): void;
  constants: { ZSTD_c_compressionLevel: number };
}

interface _Mongo {
  readonly compress: (data: Buffer, level: number) => Promise<Buffer>;
  readonly decompress: (data: Buffer) => Promise<Buffer>;
}

/** `node:zlib`'s zstd functions when this Node.js has them (not in @types/node 20). */
function _nodeZstd(): _NodeZstd | undefined {
  const z = zlib as unknown as Partial<_NodeZstd>;
  return typeof z.zstdCompress === 'function' ? (z as _NodeZstd) : undefined;
}

let mongo: _Mongo | undefined;

/**
 * The napi bindings of `@mongodb-js/zstd`, loaded on first use. Its `index.js` wrapper drops the
 * level argument (1.2.2 always compresses at level 3), so we call the bindings directly.
 */
function _mongo(): _Mongo {
  mongo ??= createRequire(import.meta.url)('@mongodb-js/zstd/bindings.js') as _Mongo;
  return mongo;
}

function _call(run: (cb: _Callback) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    run((error, result) => (error ? reject(error) : resolve(result)));
  });
}

function _buffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

const _MAGIC = 0xfd2fb528;

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

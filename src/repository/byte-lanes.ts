/**
 * Byte lanes: a blob's bytes regrouped by their position modulo 4 (lane k holds bytes k, k+4,
 * k+8, …), and each lane compressed on its own or stored as it is. Model weights are arrays of
 * float32 (or 16-bit floats), and a float keeps its sign and exponent in its top byte, its
 * mantissa below: in one lane sit the exponents, a few bits of information in each byte, and in
 * the others near-random mantissa bytes. zstd over the interleaved bytes finds no matches and
 * entropy-codes every byte (float32 weights shrink by 7 %, at about 0.9 GB/s of a core here);
 * lane by lane, the exponent lane shrinks to 34 %, the other three are stored as they are, and
 * only a quarter of the bytes are entropy-coded: 16 % smaller, and faster both ways. Which lane
 * holds the exponents depends on where the blob starts within its floats, so the lanes are
 * judged one by one, not by their position.
 *
 * A lanes payload (codec 2, see blob-codec.ts): four little-endian u32, one per lane, each its
 * stored length with the top bit set when that lane is a zstd frame; then the lanes in order,
 * each starting at the next multiple of 4 bytes from the payload's start (zero bytes between:
 * the regrouping once read lanes as 32-bit words in place).
 *
 * Regrouping runs in WebAssembly SIMD (lanes-simd.ts), 64 bytes at a time, wherever the memory
 * lies; the last bytes of a blob (fewer than 64), and every byte where this Node.js has no SIMD,
 * go one by one.
 * @module
 */
import { IntegrityError } from '../errors.ts';
import {
  KEEP_COMPRESSED_RATIO,
  compressBound,
  compressLaneInto,
  decompressInto,
} from './compression.ts';
import { reusedBuffer } from '../util/reused-buffer.ts';
import { joinGroups, splitGroups } from './lanes-simd.ts';

/** Lanes a blob is regrouped into. */
export const LANES = 4;

/** Bytes lane `lane` holds of a blob of `length` bytes. */
export function laneLength(length: number, lane: number): number {
  return (length + LANES - 1 - lane) >>> 2;
}

/** The room {@link compressLanes} needs for a blob of `length` bytes. */
export function lanesBound(length: number): number {
  let room = _HEADER;
  for (let k = 0; k < LANES; k++) room += _align(compressBound(laneLength(length, k)));
  return room;
}

/** Every lane: by default {@link compressLanes} tries to compress each. */
export const ALL_LANES = (1 << LANES) - 1;

/**
 * Regroups `data` into its lanes and writes a lanes payload at the start of `out` (which needs
 * {@link lanesBound} bytes), each lane of `tried` (bit k for lane k) compressed
 * (`compressLaneInto`) when that shrinks it to `KEEP_COMPRESSED_RATIO` of its size (as whole
 * blobs are), the others stored as they are; returns the payload's length.
 */
export function compressLanes(data: Uint8Array, out: Buffer, tried = ALL_LANES): number {
  return _compressLanes(data, out, tried).end;
}

/**
 * How `sample` (a blob's, see `compressionSample`) fares as byte lanes: its lanes payload's size
 * as a fraction of its size, and the lanes worth trying to compress in the blob (the `tried` of
 * {@link compressLanes}): those whose frame in the sample came to at most
 * {@link _LANE_TRIED_BELOW} of their size. A lane of near-random bytes (float32 weights have
 * three) never shrinks, and zstd spent 0.13 ms of the 0.72 a 1.2 MiB chunk of the benchmark's
 * weights took as lanes finding that out.
 */
export function sampleLanes(sample: Uint8Array): { ratio: number; tried: number } {
  const { end, shrank } = _compressLanes(sample, _sampleOut(lanesBound(sample.length)), ALL_LANES);
  return { ratio: end / sample.length, tried: shrank };
}

/**
 * Reads a lanes payload back into `out`'s first `length` bytes (`out` needs that many); returns
 * `length`.
 * @throws IntegrityError when the payload is not the lanes of `length` bytes.
 */
export function decompressLanes(payload: Buffer, length: number, out: Uint8Array): number {
  const fail = (what: string): never => {
    throw new IntegrityError(`[lanes] ${what}`);
  };
  if (out.length < length)
    throw new RangeError(`[lanes] ${out.length} bytes of room for ${length}`);
  if (payload.length < _HEADER) fail('payload too short for its header');
  let compressedBytes = 0;
  for (let k = 0; k < LANES; k++) {
    if (payload.readUInt32LE(4 * k) & _COMPRESSED) compressedBytes += _align(laneLength(length, k));
  }
  const room = _decoded(compressedBytes);
  const lanes: Uint8Array[] = [];
  let at = _HEADER;
  let decoded = 0;
  for (let k = 0; k < LANES; k++) {
    const word = payload.readUInt32LE(4 * k);
    const stored = word & ~_COMPRESSED;
    const size = laneLength(length, k);
    at = _align(at);
    if (at + stored > payload.length) fail(`lane ${k} runs past the payload`);
    const body = payload.subarray(at, at + stored);
    if (word & _COMPRESSED) {
      const lane = room.subarray(decoded, decoded + size);
      if (decompressInto(body, lane) !== size) fail(`lane ${k} decodes short of ${size} bytes`);
      lanes.push(lane);
      decoded = _align(decoded + size);
    } else {
      if (stored !== size) fail(`lane ${k} holds ${stored} bytes, not ${size}`);
      lanes.push(body);
    }
    at += stored;
  }
  if (at !== payload.length) fail('trailing bytes after the last lane');
  joinLanes(lanes, out.subarray(0, length));
  return length;
}

/**
 * Writes the lanes of `data` into `lanes` (lane k into `lanes[k]`, of {@link laneLength} bytes).
 */
export function splitLanes(data: Uint8Array, lanes: readonly Uint8Array[]): void {
  const length = data.length;
  _checkLanes(length, lanes);
  for (let i = splitGroups(data, lanes); i < length; i++) lanes[i & 3]![i >>> 2] = data[i]!;
}

/** Writes `lanes` back into `out` (of the blob's length), as {@link splitLanes} took them out. */
export function joinLanes(lanes: readonly Uint8Array[], out: Uint8Array): void {
  const length = out.length;
  _checkLanes(length, lanes);
  for (let i = joinGroups(lanes, out); i < length; i++) out[i] = lanes[i & 3]![i >>> 2]!;
}

// --- internal ---

/**
 * {@link compressLanes}, also telling which lanes shrank to {@link _LANE_TRIED_BELOW} of their
 * size when compressed (`shrank`, bit k for lane k; only lanes of `tried` are compressed).
 */
function _compressLanes(
  data: Uint8Array,
  out: Buffer,
  tried: number,
): { end: number; shrank: number } {
  const length = data.length;
  if (out.length < lanesBound(length)) {
    throw new RangeError(`[lanes] ${out.length} bytes of room for ${length} bytes`);
  }
  // Every lane first goes where it would lie stored as it is; then, lane by lane, each is
  // compressed aside and written back at the payload's end so far, which never passes the start
  // of a lane not yet read (a lane only shrinks or stays).
  const at: number[] = [];
  const lanes: Uint8Array[] = [];
  for (let k = 0, next = _HEADER; k < LANES; k++) {
    at.push(next);
    lanes.push(out.subarray(next, next + laneLength(length, k)));
    next = _align(next + laneLength(length, k));
  }
  splitLanes(data, lanes);
  const aside = _aside(compressBound(laneLength(length, 0)));
  let end = _HEADER;
  let shrank = 0;
  for (let k = 0; k < LANES; k++) {
    const lane = lanes[k]!;
    const start = _align(end);
    out.fill(0, end, start); // the padding: zeros, so a payload depends on its data alone
    // Empty, or not to be tried: stored.
    const frame = lane.length > 0 && tried & (1 << k) ? compressLaneInto(lane, aside) : Infinity;
    if (frame <= lane.length * _LANE_TRIED_BELOW) shrank |= 1 << k;
    if (frame <= lane.length * KEEP_COMPRESSED_RATIO) {
      out.set(aside.subarray(0, frame), start);
      out.writeUInt32LE((frame | _COMPRESSED) >>> 0, 4 * k);
      end = start + frame;
    } else {
      out.copyWithin(start, at[k]!, at[k]! + lane.length);
      out.writeUInt32LE(lane.length, 4 * k);
      end = start + lane.length;
    }
  }
  return { end, shrank };
}

/**
 * A lane of a sample that shrank to at most this fraction of its size is tried in its blob too:
 * above the whole blob's `KEEP_COMPRESSED_RATIO`, since a frame's tables weigh more on the
 * sample's short lanes (16 KiB of a 64 KiB sample) than on the blob's.
 */
const _LANE_TRIED_BELOW = 0.99;

const _HEADER = 4 * LANES;
const _COMPRESSED = 0x80000000;

const _align = (n: number): number => (n + 3) & ~3;

/** A lane compressed aside before it is written into the payload. */
const _aside = reusedBuffer();
/** The payload of a sample's lanes, measured and dropped. */
const _sampleOut = reusedBuffer();
/** Compressed lanes decoded before they are joined. */
const _decoded = reusedBuffer();

function _checkLanes(length: number, lanes: readonly Uint8Array[]): void {
  if (lanes.length !== LANES || lanes.some((lane, k) => lane.length !== laneLength(length, k))) {
    throw new RangeError(`[lanes] lanes of the wrong lengths for ${length} bytes`);
  }
}

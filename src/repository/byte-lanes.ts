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
 * each starting at the next multiple of 4 bytes from the payload's start (zero bytes between),
 * so a reader finds them aligned for whole-word access.
 *
 * Regrouping runs in JavaScript on 32-bit words (four bytes in, four out): about 3 GB/s when the
 * memory on both sides lies at multiples of 4, which the payload's layout arranges; a source
 * that does not is staged through a small aligned buffer.
 * @module
 */
import { IntegrityError } from '../errors.ts';
import {
  KEEP_COMPRESSED_RATIO,
  compressBound,
  compressLaneInto,
  decompressInto,
} from './compression.ts';
import { copyBytes } from '../util/copy-bytes.ts';
import { reusedBuffer } from '../util/reused-buffer.ts';

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

/**
 * Regroups `data` into its lanes and writes a lanes payload at the start of `out` (which needs
 * {@link lanesBound} bytes), each lane compressed (`compressLaneInto`) when that shrinks it to
 * `KEEP_COMPRESSED_RATIO` of its size (as whole blobs are), else stored as it is; returns the
 * payload's length.
 */
export function compressLanes(data: Uint8Array, out: Buffer): number {
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
  for (let k = 0; k < LANES; k++) {
    const lane = lanes[k]!;
    const start = _align(end);
    out.fill(0, end, start); // the padding: zeros, so a payload depends on its data alone
    const frame = lane.length > 0 ? compressLaneInto(lane, aside) : Infinity; // empty: stored
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
  return end;
}

/** The size of `sample`'s lanes payload, as a fraction of its size. */
export function lanesRatio(sample: Uint8Array): number {
  return compressLanes(sample, _sampleOut(lanesBound(sample.length))) / sample.length;
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
  const words = _aligned(lanes) ? (length >>> 4) << 2 : 0; // whole groups of four words
  if (words > 0) {
    const [l0, l1, l2, l3] = lanes.map((lane) => _words(lane, words >>> 2)) as _Four;
    for (let from = 0; from < words; from += _BLOCK_WORDS) {
      const count = Math.min(_BLOCK_WORDS, words - from);
      const source = _wordsOf(data, from * 4, count);
      _split(source, count, l0, l1, l2, l3, from >>> 2);
    }
  }
  for (let i = words * 4; i < length; i++) lanes[i & 3]![i >>> 2] = data[i]!;
}

/** Writes `lanes` back into `out` (of the blob's length), as {@link splitLanes} took them out. */
export function joinLanes(lanes: readonly Uint8Array[], out: Uint8Array): void {
  const length = out.length;
  _checkLanes(length, lanes);
  const words = _aligned(lanes) ? (length >>> 4) << 2 : 0;
  if (words > 0) {
    const [l0, l1, l2, l3] = lanes.map((lane) => _words(lane, words >>> 2)) as _Four;
    if (out.byteOffset % 4 === 0) {
      _join(l0, l1, l2, l3, _words(out, words), 0, words);
    } else {
      // Joined a block at a time where words can be written, then copied into place.
      const stage = _stage(_BLOCK_WORDS * 4);
      for (let from = 0; from < words; from += _BLOCK_WORDS) {
        const count = Math.min(_BLOCK_WORDS, words - from);
        _join(l0, l1, l2, l3, new Uint32Array(stage.buffer, 0, count), from >>> 2, count);
        copyBytes(stage.subarray(0, count * 4), out, from * 4);
      }
    }
  }
  for (let i = words * 4; i < length; i++) out[i] = lanes[i & 3]![i >>> 2]!;
}

// --- internal ---

type _Four = [Uint32Array, Uint32Array, Uint32Array, Uint32Array];

const _HEADER = 4 * LANES;
const _COMPRESSED = 0x80000000;
/** Words of an unaligned source staged at a time (64 KiB: stays in the core's cache). */
const _BLOCK_WORDS = 16 * 1024;

const _align = (n: number): number => (n + 3) & ~3;

/** A lane compressed aside before it is written into the payload. */
const _aside = reusedBuffer();
/** The payload of a sample's lanes, measured and dropped. */
const _sampleOut = reusedBuffer();
/** Compressed lanes decoded before they are joined. */
const _decoded = reusedBuffer();
/** A block of an unaligned source or destination, staged where words can be read or written. */
const _stage = reusedBuffer();

function _checkLanes(length: number, lanes: readonly Uint8Array[]): void {
  if (lanes.length !== LANES || lanes.some((lane, k) => lane.length !== laneLength(length, k))) {
    throw new RangeError(`[lanes] lanes of the wrong lengths for ${length} bytes`);
  }
}

function _aligned(arrays: readonly Uint8Array[]): boolean {
  return arrays.every((a) => a.byteOffset % 4 === 0);
}

function _words(bytes: Uint8Array, count: number): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, count);
}

/** `count` words of `data` from byte `at`: in place when aligned, else copied into the stage. */
function _wordsOf(data: Uint8Array, at: number, count: number): Uint32Array {
  if ((data.byteOffset + at) % 4 === 0)
    return new Uint32Array(data.buffer, data.byteOffset + at, count);
  const stage = _stage(count * 4);
  copyBytes(data.subarray(at, at + count * 4), stage); // memcpy, even from shared memory
  return new Uint32Array(stage.buffer, stage.byteOffset, count);
}

/**
 * Four words of the source (16 bytes: byte j of word i is blob byte 4i + j) become one word of
 * each lane, from word `to` on. Little-endian throughout: byte j of a word is bits 8j to 8j+7.
 */
function _split(
  s: Uint32Array,
  count: number,
  l0: Uint32Array,
  l1: Uint32Array,
  l2: Uint32Array,
  l3: Uint32Array,
  to: number,
): void {
  for (let i = 0, j = to; i < count; i += 4, j++) {
    const a = s[i]!;
    const b = s[i + 1]!;
    const c = s[i + 2]!;
    const d = s[i + 3]!;
    l0[j] = (a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | (d << 24);
    l1[j] = ((a >>> 8) & 0xff) | (b & 0xff00) | ((c & 0xff00) << 8) | ((d & 0xff00) << 16);
    l2[j] = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (c & 0xff0000) | ((d & 0xff0000) << 8);
    l3[j] = (a >>> 24) | ((b >>> 16) & 0xff00) | ((c >>> 8) & 0xff0000) | (d & 0xff000000);
  }
}

/**
 * The inverse of {@link _split}: `count` words of output from word `from` of each lane on. The
 * same 4x4 byte transposition (its own inverse), read and written the other way round; one loop
 * indexed for both ways ran at 2.2 GB/s against these two's 3.
 */
function _join(
  l0: Uint32Array,
  l1: Uint32Array,
  l2: Uint32Array,
  l3: Uint32Array,
  o: Uint32Array,
  from: number,
  count: number,
): void {
  for (let i = 0, j = from; i < count; i += 4, j++) {
    const a = l0[j]!;
    const b = l1[j]!;
    const c = l2[j]!;
    const d = l3[j]!;
    o[i] = (a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | (d << 24);
    o[i + 1] = ((a >>> 8) & 0xff) | (b & 0xff00) | ((c & 0xff00) << 8) | ((d & 0xff00) << 16);
    o[i + 2] = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (c & 0xff0000) | ((d & 0xff0000) << 8);
    o[i + 3] = (a >>> 24) | ((b >>> 16) & 0xff00) | ((c >>> 8) & 0xff0000) | (d & 0xff000000);
  }
}

/**
 * How one blob is stored: `codec(1) || nonce(12) || AES-256-GCM(payload) || tag(16)`, where the
 * payload is the plaintext (codec 0), its zstd compression (1), or its byte lanes, each
 * compressed or not (2, byte-lanes.ts: model weights). The authenticated data binds the blob's
 * type, codec and id, so a stored blob cannot be passed off as another.
 *
 * These functions do all their work on the calling thread, synchronously; `codec-pool.ts` runs
 * the same functions on worker threads for large blobs.
 * @module
 */
import { IntegrityError } from '../errors.ts';
import { reusedBuffer } from '../util/reused-buffer.ts';
import { compressLanes, decompressLanes, lanesBound, sampleLanes } from './byte-lanes.ts';
import {
  COMPRESSION_SAMPLE_SIZE,
  KEEP_COMPRESSED_RATIO,
  compressBound,
  compressInto,
  compressionSample,
  decompressInto,
  sampleRatio,
} from './compression.ts';
import {
  SEAL_NONCE,
  SEAL_OVERHEAD,
  blobId,
  blobKey,
  openInto,
  sealInto,
  type RepositoryKeys,
} from './crypto.ts';

/** Blob types. Data and tree blobs go to different packs (trees are small and read often). */
export type BlobType = 'data' | 'tree';
export const BLOB_TYPE_CODE = { data: 0, tree: 1 } as const;

const CODEC_RAW = 0;
const CODEC_ZSTD = 1;
const CODEC_LANES = 2;

/** Bytes encoding adds to a blob at most: the codec byte, nonce and tag. */
export const BLOB_OVERHEAD = 1 + SEAL_OVERHEAD;

/** Compression choice for a blob. */
export interface CompressionPolicy {
  /** zstd level; 0 stores every blob raw. */
  readonly level: number;
  /**
   * Keep the compressed form only if it is at most this fraction of the input.
   * @default {@link KEEP_COMPRESSED_RATIO}
   */
  readonly keepRatio?: number;
}

/** A blob ready to be packed. */
export interface EncodedBlob {
  readonly id: Buffer;
  readonly type: BlobType;
  readonly encoded: Buffer;
  readonly rawLength: number;
}

/**
 * Where {@link encodeBlobInPlace} expects the plaintext in its frame: after the codec byte and
 * the nonce, where the ciphertext goes.
 */
export const PLAINTEXT_AT = 1 + SEAL_NONCE;

/**
 * Encodes a plaintext blob whose id is already known (see `blobId`). Compression is attempted
 * per the policy and dropped when it does not shrink the data enough.
 */
export function encodeBlob(
  keys: RepositoryKeys,
  type: BlobType,
  id: Buffer,
  plaintext: Buffer,
  policy: CompressionPolicy,
): EncodedBlob {
  const frame = Buffer.allocUnsafe(plaintext.length + BLOB_OVERHEAD);
  frame.set(plaintext, PLAINTEXT_AT);
  const length = encodeBlobInPlace(keys, type, id, frame, plaintext.length, policy);
  return { id, type, encoded: frame.subarray(0, length), rawLength: plaintext.length };
}

/**
 * {@link encodeBlob} within one buffer: `frame` holds the plaintext at {@link PLAINTEXT_AT} and
 * has room for {@link BLOB_OVERHEAD} bytes more; the encoded blob replaces it from the frame's
 * start. Returns the encoded length. The codec workers encode in their shared slots this way,
 * with no copy of the blob and no fresh memory for it: the compressor writes into this thread's
 * scratch buffer, which the cipher then reads.
 */
export function encodeBlobInPlace(
  keys: RepositoryKeys,
  type: BlobType,
  id: Buffer,
  frame: Buffer,
  length: number,
  policy: CompressionPolicy,
): number {
  const plaintext = frame.subarray(PLAINTEXT_AT, PLAINTEXT_AT + length);
  let codec = CODEC_RAW;
  let payload: Buffer = plaintext;
  const keepRatio = policy.keepRatio ?? KEEP_COMPRESSED_RATIO;
  const form = policy.level > 0 && length >= 64 ? _formFor(plaintext, keepRatio) : 'raw';
  if (form === 'whole') {
    const scratch = _scratch(compressBound(length));
    const compressed = compressInto(plaintext, policy.level, scratch);
    if (compressed <= length * keepRatio) {
      codec = CODEC_ZSTD;
      payload = scratch.subarray(0, compressed);
    }
  } else if (form !== 'raw') {
    const scratch = _scratch(lanesBound(length));
    const compressed = compressLanes(plaintext, scratch, form.lanes);
    if (compressed <= length * keepRatio) {
      codec = CODEC_LANES;
      payload = scratch.subarray(0, compressed);
    }
  }
  frame[0] = codec;
  return 1 + sealInto(blobKey(keys, id), payload, _aad(type, codec, id), frame.subarray(1));
}

/**
 * Decodes a stored blob and proves it is the blob asked for: the tag must verify, the
 * decompressed length must match, and the plaintext must hash back to `id`. No plaintext is
 * returned before all three hold.
 * @throws IntegrityError naming `what` on any mismatch.
 */
export function decodeBlob(
  keys: RepositoryKeys,
  type: BlobType,
  id: Buffer,
  encoded: Buffer,
  rawLength: number,
  what: string,
): Buffer {
  const out = Buffer.allocUnsafe(Math.max(0, encoded.length - BLOB_OVERHEAD));
  return decodeBlobInto(keys, type, id, encoded, rawLength, what, out);
}

/**
 * {@link decodeBlob} writing into `out`: the decrypted payload at its start (`out` may be the
 * memory `encoded` lies in, from its start), and a compressed payload's plaintext into `room`
 * (by default `out` after the payload) when it has `rawLength` bytes, else into fresh memory.
 * Returns the plaintext: a view of `out`, of `room` or of that fresh memory.
 * @throws IntegrityError naming `what` on any mismatch; `out` then holds garbage.
 */
export function decodeBlobInto(
  keys: RepositoryKeys,
  type: BlobType,
  id: Buffer,
  encoded: Buffer,
  rawLength: number,
  what: string,
  out: Buffer,
  room?: Buffer,
): Buffer {
  const { codec, payload } = _open(keys, { type, id, encoded, what }, out);
  const plaintext =
    codec === CODEC_RAW
      ? payload
      : _decompressed(codec, payload, rawLength, what, room ?? out.subarray(payload.length));
  return _proven(keys, id, plaintext, rawLength, what);
}

/** Whether a stored blob's payload is compressed (by its codec byte; not yet authenticated). */
export function storedCompressed(encoded: Uint8Array): boolean {
  return encoded[0] === CODEC_ZSTD || encoded[0] === CODEC_LANES;
}

// --- internal ---

/** Checks the codec and decrypts a stored blob's payload into `out`. */
function _open(
  keys: RepositoryKeys,
  blob: { type: BlobType; id: Buffer; encoded: Buffer; what: string },
  out: Buffer,
): { codec: number; payload: Buffer } {
  const { type, id, encoded, what } = blob;
  const codec = encoded[0];
  if (codec !== CODEC_RAW && codec !== CODEC_ZSTD && codec !== CODEC_LANES) {
    throw new IntegrityError(`${what}: unknown codec ${String(codec)}`);
  }
  const length = openInto(blobKey(keys, id), encoded.subarray(1), _aad(type, codec, id), out, what);
  return { codec, payload: out.subarray(0, length) };
}

/**
 * Decompresses a `codec` payload into `room` when it fits `rawLength` bytes, else into fresh
 * memory.
 */
function _decompressed(
  codec: number,
  payload: Buffer,
  rawLength: number,
  what: string,
  room: Buffer,
): Buffer {
  const out =
    room.length >= rawLength ? room.subarray(0, rawLength) : Buffer.allocUnsafe(rawLength);
  try {
    return codec === CODEC_LANES
      ? out.subarray(0, decompressLanes(payload, rawLength, out))
      : out.subarray(0, decompressInto(payload, out));
  } catch (error) {
    throw new IntegrityError(`${what}: cannot decompress`, { cause: error });
  }
}

/** Returns `plaintext` once it has the blob's length and hashes to its id. */
function _proven(
  keys: RepositoryKeys,
  id: Buffer,
  plaintext: Buffer,
  rawLength: number,
  what: string,
): Buffer {
  if (plaintext.length !== rawLength) {
    throw new IntegrityError(`${what}: length ${plaintext.length}, expected ${rawLength}`);
  }
  if (!blobId(keys, plaintext).equals(id)) {
    throw new IntegrityError(`${what}: content does not hash to its id`);
  }
  return plaintext;
}

/**
 * How a blob is worth compressing: whole, as byte lanes, or not at all (stored raw). A blob many
 * times the sample's size is judged on its sample (see `compressionSample`): most blobs that
 * large are model weights or other data zstd barely shrinks, and for them the sample costs a
 * fraction of compressing the whole blob only to store it raw. A sample that zstd cannot halve
 * (text shrinks to a fifth or a third, weights to 0.93) is also tried as byte lanes, which are
 * taken when they shrink it by a further {@link _LANES_GAIN} of its size: float32 weights went
 * from 0.926 to 0.835. Lanes come with the lanes worth compressing, those that shrank in the
 * sample (`sampleLanes`); the others are stored as they are without a try.
 */
function _formFor(
  plaintext: Buffer,
  keepRatio: number,
): 'raw' | 'whole' | { readonly lanes: number } {
  if (plaintext.length < 4 * COMPRESSION_SAMPLE_SIZE) return 'whole';
  const sample = compressionSample(plaintext);
  const whole = sampleRatio(sample);
  if (whole > _LANES_TRIED_ABOVE) {
    const lanes = sampleLanes(sample);
    if (lanes.ratio <= keepRatio && lanes.ratio <= whole - _LANES_GAIN)
      return { lanes: lanes.tried };
  }
  return whole <= keepRatio ? 'whole' : 'raw';
}

/** A sample compressed whole to more than this fraction of its size is tried as byte lanes too. */
const _LANES_TRIED_ABOVE = 0.5;
/** How much more of a sample byte lanes must save than whole compression to be chosen. */
const _LANES_GAIN = 0.03;

/** This thread's buffer for compressed payloads, reused blob after blob. */
const _scratch = reusedBuffer();

function _aad(type: BlobType, codec: number, id: Uint8Array): Buffer {
  const aad = Buffer.alloc(10 + id.length);
  aad.write('hbr:blob', 0, 'latin1');
  aad[8] = BLOB_TYPE_CODE[type];
  aad[9] = codec;
  aad.set(id, 10);
  return aad;
}

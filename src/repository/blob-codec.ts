/**
 * How one blob is stored: `codec(1) || nonce(12) || AES-256-GCM(payload) || tag(16)`, where the
 * payload is the plaintext or its zstd compression. The authenticated data binds the blob's type,
 * codec and id, so a stored blob cannot be passed off as another.
 *
 * These functions do the work on the calling thread (zstd on the libuv pool); `codec-pool.ts`
 * runs the same functions on worker threads for large blobs.
 * @module
 */
import { IntegrityError } from '../errors.ts';
import {
  COMPRESSION_SAMPLE_SIZE,
  KEEP_COMPRESSED_RATIO,
  compress,
  decompress,
  decompressEach,
  worthCompressing,
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
export async function encodeBlob(
  keys: RepositoryKeys,
  type: BlobType,
  id: Buffer,
  plaintext: Buffer,
  policy: CompressionPolicy,
): Promise<EncodedBlob> {
  const frame = Buffer.allocUnsafe(plaintext.length + BLOB_OVERHEAD);
  frame.set(plaintext, PLAINTEXT_AT);
  const length = await encodeBlobInPlace(keys, type, id, frame, plaintext.length, policy);
  return { id, type, encoded: frame.subarray(0, length), rawLength: plaintext.length };
}

/**
 * {@link encodeBlob} within one buffer: `frame` holds the plaintext at {@link PLAINTEXT_AT} and
 * has room for {@link BLOB_OVERHEAD} bytes more; the encoded blob replaces it from the frame's
 * start. Returns the encoded length. The codec workers encode in their shared slots this way,
 * with no copy of the blob and no fresh memory for it but the compressor's output.
 */
export async function encodeBlobInPlace(
  keys: RepositoryKeys,
  type: BlobType,
  id: Buffer,
  frame: Buffer,
  length: number,
  policy: CompressionPolicy,
): Promise<number> {
  const plaintext = frame.subarray(PLAINTEXT_AT, PLAINTEXT_AT + length);
  let codec = CODEC_RAW;
  let payload: Buffer = plaintext;
  const keepRatio = policy.keepRatio ?? KEEP_COMPRESSED_RATIO;
  if (policy.level > 0 && length >= 64 && (await _worthTrying(plaintext, keepRatio))) {
    const compressed = await compress(plaintext, policy.level);
    if (compressed.length <= length * keepRatio) {
      codec = CODEC_ZSTD;
      payload = compressed;
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
): Promise<Buffer> {
  const out = Buffer.allocUnsafe(Math.max(0, encoded.length - BLOB_OVERHEAD));
  return decodeBlobInto(keys, type, id, encoded, rawLength, what, out);
}

/**
 * {@link decodeBlob} writing the decrypted payload into `out`, which may be the memory `encoded`
 * lies in (from its start; the codec workers decode in their shared slots this way). Returns the
 * plaintext: a view of `out`, or the decompressor's fresh buffer for a compressed blob.
 * @throws IntegrityError naming `what` on any mismatch; `out` then holds garbage.
 */
export async function decodeBlobInto(
  keys: RepositoryKeys,
  type: BlobType,
  id: Buffer,
  encoded: Buffer,
  rawLength: number,
  what: string,
  out: Buffer,
): Promise<Buffer> {
  const { codec, payload } = _open(keys, { type, id, encoded, what }, out);
  const plaintext = codec === CODEC_ZSTD ? await _decompressed(payload, rawLength, what) : payload;
  return _proven(keys, id, plaintext, rawLength, what);
}

/** A stored blob to decode with {@link decodeBlobsInto}. */
export interface StoredBlob {
  readonly type: BlobType;
  readonly id: Buffer;
  readonly encoded: Buffer;
  readonly rawLength: number;
  readonly what: string;
}

/**
 * {@link decodeBlobInto} for several blobs at once, each proven as that function proves one: its
 * plaintext or the error it failed with, in order. `out` needs room for all their encoded bytes.
 * The compressed ones are decompressed in one call ({@link decompressEach}); a blob whose share
 * of that call fails its proof, or all of them when the call fails, are decoded alone again, so
 * an error always names the blob at fault.
 */
export async function decodeBlobsInto(
  keys: RepositoryKeys,
  blobs: readonly StoredBlob[],
  out: Buffer,
): Promise<({ plaintext: Buffer } | { error: unknown })[]> {
  const results = new Array<{ plaintext: Buffer } | { error: unknown }>(blobs.length);
  const compressed: { at: number; payload: Buffer }[] = [];
  let used = 0;
  for (const [at, blob] of blobs.entries()) {
    try {
      const { codec, payload } = _open(keys, blob, out.subarray(used));
      used += payload.length;
      if (codec === CODEC_ZSTD) compressed.push({ at, payload });
      else results[at] = { plaintext: _proven(keys, blob.id, payload, blob.rawLength, blob.what) };
    } catch (error) {
      results[at] = { error };
    }
  }
  if (compressed.length === 0) return results;
  const sizes = compressed.map(({ at }) => blobs[at]!.rawLength);
  const together = await decompressEach(
    compressed.map(({ payload }) => payload),
    sizes,
  ).catch(() => undefined);
  for (const [i, { at, payload }] of compressed.entries()) {
    const { id, rawLength, what } = blobs[at]!;
    const shared = together?.[i];
    try {
      const plaintext =
        shared && !_mismatch(keys, id, shared, rawLength, what)
          ? shared
          : _proven(keys, id, await _decompressed(payload, rawLength, what), rawLength, what);
      results[at] = { plaintext };
    } catch (error) {
      results[at] = { error };
    }
  }
  return results;
}

// --- internal ---

/** Checks the codec and decrypts a stored blob's payload into `out`. */
function _open(
  keys: RepositoryKeys,
  blob: Omit<StoredBlob, 'rawLength'>,
  out: Buffer,
): { codec: number; payload: Buffer } {
  const { type, id, encoded, what } = blob;
  const codec = encoded[0];
  if (codec !== CODEC_RAW && codec !== CODEC_ZSTD) {
    throw new IntegrityError(`${what}: unknown codec ${String(codec)}`);
  }
  const length = openInto(blobKey(keys, id), encoded.subarray(1), _aad(type, codec, id), out, what);
  return { codec, payload: out.subarray(0, length) };
}

async function _decompressed(payload: Buffer, rawLength: number, what: string): Promise<Buffer> {
  try {
    return await decompress(payload, rawLength);
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
  const mismatch = _mismatch(keys, id, plaintext, rawLength, what);
  if (mismatch) throw mismatch;
  return plaintext;
}

/** Why `plaintext` is not the blob `id` of `rawLength` bytes, if it is not. */
function _mismatch(
  keys: RepositoryKeys,
  id: Buffer,
  plaintext: Buffer,
  rawLength: number,
  what: string,
): IntegrityError | undefined {
  if (plaintext.length !== rawLength) {
    return new IntegrityError(`${what}: length ${plaintext.length}, expected ${rawLength}`);
  }
  if (!blobId(keys, plaintext).equals(id)) {
    return new IntegrityError(`${what}: content does not hash to its id`);
  }
  return undefined;
}

/**
 * A blob many times the sample's size is compressed only when its sample shrinks enough: most
 * blobs that large are model weights or other data that will not, and for them the sample costs
 * a fraction of compressing the whole blob only to store it raw.
 */
function _worthTrying(plaintext: Buffer, keepRatio: number): Promise<boolean> | boolean {
  return plaintext.length < 4 * COMPRESSION_SAMPLE_SIZE || worthCompressing(plaintext, keepRatio);
}

function _aad(type: BlobType, codec: number, id: Uint8Array): Buffer {
  const aad = Buffer.alloc(10 + id.length);
  aad.write('hbr:blob', 0, 'latin1');
  aad[8] = BLOB_TYPE_CODE[type];
  aad[9] = codec;
  aad.set(id, 10);
  return aad;
}

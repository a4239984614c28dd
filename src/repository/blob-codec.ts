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
import { compress, decompress } from './compression.ts';
import { SEAL_OVERHEAD, blobId, blobKey, open, seal, type RepositoryKeys } from './crypto.ts';

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
  /** Keep the compressed form only if it is at most this fraction of the input. @default 0.97 */
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
  let codec = CODEC_RAW;
  let payload: Buffer = plaintext;
  if (policy.level > 0 && plaintext.length >= 64) {
    const compressed = await compress(plaintext, policy.level);
    if (compressed.length <= plaintext.length * (policy.keepRatio ?? 0.97)) {
      codec = CODEC_ZSTD;
      payload = compressed;
    }
  }
  const sealed = seal(blobKey(keys, id), payload, _aad(type, codec, id));
  const encoded = Buffer.allocUnsafe(1 + sealed.length);
  encoded[0] = codec;
  sealed.copy(encoded, 1);
  return { id, type, encoded, rawLength: plaintext.length };
}

/**
 * Decodes a stored blob and proves it is the blob asked for: the tag must verify, the
 * decompressed length must match, and the plaintext must hash back to `id`. No plaintext is
 * returned before all three hold.
 * @throws IntegrityError naming `what` on any mismatch.
 */
export async function decodeBlob(
  keys: RepositoryKeys,
  type: BlobType,
  id: Buffer,
  encoded: Buffer,
  rawLength: number,
  what: string,
): Promise<Buffer> {
  const codec = encoded[0];
  if (codec !== CODEC_RAW && codec !== CODEC_ZSTD) {
    throw new IntegrityError(`${what}: unknown codec ${String(codec)}`);
  }
  const payload = open(blobKey(keys, id), encoded.subarray(1), _aad(type, codec, id), what);
  let plaintext = payload;
  if (codec === CODEC_ZSTD) {
    try {
      plaintext = await decompress(payload, rawLength);
    } catch (error) {
      throw new IntegrityError(`${what}: cannot decompress`, { cause: error });
    }
  }
  if (plaintext.length !== rawLength) {
    throw new IntegrityError(`${what}: length ${plaintext.length}, expected ${rawLength}`);
  }
  if (!blobId(keys, plaintext).equals(id)) {
    throw new IntegrityError(`${what}: content does not hash to its id`);
  }
  return plaintext;
}

// --- internal ---

function _aad(type: BlobType, codec: number, id: Uint8Array): Buffer {
  const aad = Buffer.alloc(10 + id.length);
  aad.write('hbr:blob', 0, 'latin1');
  aad[8] = BLOB_TYPE_CODE[type];
  aad[9] = codec;
  aad.set(id, 10);
  return aad;
}

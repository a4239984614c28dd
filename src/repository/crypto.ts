/**
 * Cryptography of the repository format: subkeys from the master key, keyed blob ids, and
 * AES-256-GCM sealing of blobs and metadata objects. Nothing here touches a store.
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
} from 'node:crypto';
import { IntegrityError } from '../errors.ts';
import { copyBytes } from '../util/copy-bytes.ts';
import { reusedBuffer } from '../util/reused-buffer.ts';

/** The secret keys derived from a repository's 64-byte master key. */
export interface RepositoryKeys {
  /** HMAC-SHA-256 key for blob ids: ids reveal nothing about content without it. */
  readonly idKey: Buffer;
  /** Per-blob encryption keys derive from this. */
  readonly dataKey: Buffer;
  /** Encrypts metadata objects: config, index, snapshots, pack headers, locks. */
  readonly metaKey: Buffer;
  /** Keys the chunker's gear table, so cut points are unpredictable without the key. */
  readonly chunkerKey: Buffer;
}

/** Derives the repository's working keys from its master key (HKDF-SHA-256, fixed labels). */
export function deriveKeys(masterKey: Buffer): RepositoryKeys {
  const derive = (label: string): Buffer =>
    Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `hbr v1 ${label}`, 32));
  return {
    idKey: derive('blob id'),
    dataKey: derive('blob data'),
    metaKey: derive('metadata'),
    chunkerKey: derive('chunker'),
  };
}

/** The 32-byte id of a blob's plaintext: HMAC-SHA-256 under the repository's id key. */
export function blobId(keys: RepositoryKeys, plaintext: Uint8Array): Buffer {
  return createHmac('sha256', keys.idKey).update(plaintext).digest();
}

/** SHA-256 of bytes, hex: the name of every stored object and the check of every artifact. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * {@link sha256Hex} of bytes another thread wrote (a pack read from the store), copied 256 KiB at
 * a time into this thread's own memory and hashed there. On the benchmark's machine SHA-256 reads
 * memory outside this core's cache at about 1.1 GB/s and memory inside it at 1.6-1.7, and copying
 * is cheap (8 GB/s and more): 16 MiB packs in shared memory hash at 1.41 GB/s staged, 1.08 whole.
 * Bytes just written on this thread hash faster as they are.
 */
export function sha256HexStaged(data: Uint8Array): string {
  const stage = _stage(STAGE);
  const hash = createHash('sha256');
  for (let at = 0; at < data.length; at += STAGE) {
    const length = copyBytes(data.subarray(at, at + STAGE), stage);
    hash.update(stage.subarray(0, length));
  }
  return hash.digest('hex');
}

/** Bytes {@link sha256HexStaged} copies at a time: well within a core's cache. */
const STAGE = 256 * 1024;
const _stage = reusedBuffer();

const NONCE = 12;
/** Bytes of the nonce that starts every sealed object. */
export const SEAL_NONCE = NONCE;
const TAG = 16;
/** Bytes sealing adds: nonce and tag. */
export const SEAL_OVERHEAD = NONCE + TAG;

/**
 * Encrypts with AES-256-GCM: `nonce(12) || ciphertext || tag(16)`. `aad` binds the ciphertext
 * to its context (object kind, blob id) so a valid ciphertext cannot be replayed elsewhere.
 */
export function seal(key: Buffer, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + SEAL_OVERHEAD);
  sealInto(key, plaintext, aad, out);
  return out;
}

/**
 * {@link seal} into `out` (at least `plaintext.length + SEAL_OVERHEAD` bytes); returns the bytes
 * written. `plaintext` may lie in `out` right after the nonce's place (`out.subarray(12)`): it is
 * then encrypted in place, which is how the codec workers seal a blob in its slot without a copy.
 */
export function sealInto(key: Buffer, plaintext: Uint8Array, aad: Uint8Array, out: Buffer): number {
  const nonce = _freshNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  copyBytes(nonce, out);
  let at = NONCE + _pieces(cipher, plaintext, out, NONCE);
  at += _put(cipher.final(), out, at);
  return at + _put(cipher.getAuthTag(), out, at);
}

/**
 * Decrypts what {@link seal} produced. The plaintext is returned only after the tag verified.
 * @throws IntegrityError naming `what` when the data is truncated, altered, or under another key.
 */
export function open(key: Buffer, sealed: Uint8Array, aad: Uint8Array, what: string): Buffer {
  const out = Buffer.allocUnsafe(Math.max(0, sealed.length - SEAL_OVERHEAD));
  return out.subarray(0, openInto(key, sealed, aad, out, what));
}

/**
 * {@link open} into `out`; returns the plaintext's length. `out` may be the memory `sealed` lies in,
 * starting where `sealed` starts or before (never after): the plaintext then overwrites the
 * sealed bytes as they are read. It is unverified until this returns: on an error, `out` holds
 * garbage that must not be used.
 * @throws IntegrityError naming `what` when the data is truncated, altered, or under another key.
 */
export function openInto(
  key: Buffer,
  sealed: Uint8Array,
  aad: Uint8Array,
  out: Buffer,
  what: string,
): number {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new IntegrityError(`${what}: too short to be encrypted data (${sealed.length} bytes)`);
  }
  const data = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE));
    decipher.setAAD(aad);
    decipher.setAuthTag(data.subarray(data.length - TAG));
    const length = _pieces(decipher, data.subarray(NONCE, data.length - TAG), out, 0);
    return length + _put(decipher.final(), out, length);
  } catch (error) {
    throw new IntegrityError(`${what}: authentication failed (data altered or wrong key)`, {
      cause: error,
    });
  }
}

/**
 * Bytes per `update` call of {@link _pieces}: each call returns a fresh buffer, so small pieces
 * keep that garbage small and in the cache, where copying it out costs next to nothing.
 */
const PIECE = 64 * 1024;

/**
 * Runs `input` through a cipher into `out` from `at`, piece by piece; returns the bytes written.
 * AES-GCM's output keeps pace with its input, so when `out` is the memory `input` lies in, from
 * the same place or before, each piece is written only over bytes already consumed.
 */
function _pieces(
  cipher: { update(data: Uint8Array): Buffer },
  input: Uint8Array,
  out: Buffer,
  at: number,
): number {
  let written = 0;
  for (let offset = 0; offset < input.length; offset += PIECE) {
    written += _put(cipher.update(input.subarray(offset, offset + PIECE)), out, at + written);
  }
  return written;
}

function _put(bytes: Buffer, out: Buffer, at: number): number {
  return copyBytes(bytes, out, at);
}

/** The key a single blob is encrypted under: per-blob keys keep GCM's random-nonce limits moot. */
export function blobKey(keys: RepositoryKeys, id: Uint8Array): Buffer {
  return createHmac('sha256', keys.dataKey).update(id).digest();
}

/** Metadata object kinds, bound into each object's authenticated data. */
export type ObjectKind =
  'config' | 'index' | 'snapshot' | 'pack-header' | 'lock' | 'note' | 'memo' | 'forgotten';

/** Seals a metadata object (JSON or binary) under the metadata key. */
export function sealObject(keys: RepositoryKeys, kind: ObjectKind, plaintext: Uint8Array): Buffer {
  return seal(keys.metaKey, plaintext, Buffer.from(`hbr:${kind}`));
}

/** Opens a metadata object sealed by {@link sealObject}. */
export function openObject(
  keys: RepositoryKeys,
  kind: ObjectKind,
  sealed: Uint8Array,
  what: string,
): Buffer {
  return open(keys.metaKey, sealed, Buffer.from(`hbr:${kind}`), what);
}

let noncePool = Buffer.alloc(0);
let nonceAt = 0;

/**
 * A random nonce, cut from random bytes drawn 256 nonces at a time: one call to the system's
 * random source per blob cost 20-25 us each on a virtual machine whose system calls are slow.
 * Each thread has its own pool and never hands out the same bytes twice.
 */
function _freshNonce(): Buffer {
  if (nonceAt + NONCE > noncePool.length) {
    noncePool = randomBytes(256 * NONCE);
    nonceAt = 0;
  }
  nonceAt += NONCE;
  return noncePool.subarray(nonceAt - NONCE, nonceAt);
}

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

const NONCE = 12;
const TAG = 16;
/** Bytes sealing adds: nonce and tag. */
export const SEAL_OVERHEAD = NONCE + TAG;

/**
 * Encrypts with AES-256-GCM: `nonce(12) || ciphertext || tag(16)`. `aad` binds the ciphertext
 * to its context (object kind, blob id) so a valid ciphertext cannot be replayed elsewhere.
 */
export function seal(key: Buffer, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  return Buffer.concat([nonce, body, final, cipher.getAuthTag()]);
}

/**
 * Decrypts what {@link seal} produced. The plaintext is returned only after the tag verified.
 * @throws IntegrityError naming `what` when the data is truncated, altered, or under another key.
 */
export function open(key: Buffer, sealed: Uint8Array, aad: Uint8Array, what: string): Buffer {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new IntegrityError(`${what}: too short to be encrypted data (${sealed.length} bytes)`);
  }
  const data = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE));
    decipher.setAAD(aad);
    decipher.setAuthTag(data.subarray(data.length - TAG));
    const body = decipher.update(data.subarray(NONCE, data.length - TAG));
    return Buffer.concat([body, decipher.final()]);
  } catch (error) {
    throw new IntegrityError(`${what}: authentication failed (data altered or wrong key)`, {
      cause: error,
    });
  }
}

/** The key a single blob is encrypted under: per-blob keys keep GCM's random-nonce limits moot. */
export function blobKey(keys: RepositoryKeys, id: Uint8Array): Buffer {
  return createHmac('sha256', keys.dataKey).update(id).digest();
}

/** Metadata object kinds, bound into each object's authenticated data. */
export type ObjectKind = 'config' | 'index' | 'snapshot' | 'pack-header' | 'lock' | 'note';

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

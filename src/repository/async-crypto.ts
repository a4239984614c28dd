/**
 * The per-blob cryptography of `crypto.ts` (keyed blob ids, AES-256-GCM under per-blob keys),
 * run through WebCrypto so the work happens on the libuv thread pool instead of the main thread:
 * with several blobs in flight, hashing and encryption use every core while the main thread reads
 * and chunks. The bytes produced are identical to `blobId`, `seal` and `open` in `crypto.ts`.
 * @module
 */
import { randomBytes, webcrypto, type webcrypto as WebCrypto } from 'node:crypto';
import { IntegrityError } from '../errors.ts';
import { SEAL_OVERHEAD, blobId, blobKey, open, seal, type RepositoryKeys } from './crypto.ts';

/**
 * Below this many bytes the thread pool's per-call cost (job setup, key import, copies: tens of
 * microseconds) exceeds the work, so small blobs are hashed and sealed on the calling thread.
 */
const POOL_MIN = 128 * 1024;

const { subtle } = webcrypto;
const NONCE = 12;

interface _Imported {
  readonly id: Promise<WebCrypto.CryptoKey>;
  readonly data: Promise<WebCrypto.CryptoKey>;
}

/** Imported keys per repository key set: importing is cheap, but not free per blob. */
const imported = new WeakMap<RepositoryKeys, _Imported>();

function _keys(keys: RepositoryKeys): _Imported {
  let found = imported.get(keys);
  if (!found) {
    const hmac = (raw: Buffer): Promise<WebCrypto.CryptoKey> =>
      subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    found = { id: hmac(keys.idKey), data: hmac(keys.dataKey) };
    imported.set(keys, found);
  }
  return found;
}

/** HMAC-SHA-256 of `data` under an imported key, computed off the main thread. */
async function _hmac(key: Promise<WebCrypto.CryptoKey>, data: Uint8Array): Promise<Buffer> {
  return Buffer.from(await subtle.sign('HMAC', await key, data));
}

/** The AES-256-GCM key of one blob: HMAC-SHA-256(blob-data key, id), as `blobKey` derives it. */
async function _blobCipherKey(keys: RepositoryKeys, id: Uint8Array): Promise<WebCrypto.CryptoKey> {
  const raw = await _hmac(_keys(keys).data, id);
  return subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

/** Same as `blobId` in `crypto.ts`, on the thread pool. */
export function blobIdAsync(keys: RepositoryKeys, plaintext: Uint8Array): Promise<Buffer> {
  if (plaintext.length < POOL_MIN) return Promise.resolve(blobId(keys, plaintext));
  return _hmac(_keys(keys).id, plaintext);
}

/**
 * Seals a blob payload under its per-blob key, as `seal(blobKey(keys, id), payload, aad)` does,
 * and returns the sealed bytes after `prefix` bytes left free for the caller (the codec byte),
 * so the result needs no further copy.
 */
export async function sealBlobAsync(
  keys: RepositoryKeys,
  id: Uint8Array,
  payload: Uint8Array,
  aad: Uint8Array,
  prefix: number,
): Promise<Buffer> {
  if (payload.length < POOL_MIN) {
    const sealed = seal(blobKey(keys, id), payload, aad);
    if (prefix === 0) return sealed;
    const out = Buffer.allocUnsafe(prefix + sealed.length);
    sealed.copy(out, prefix);
    return out;
  }
  const key = await _blobCipherKey(keys, id);
  const nonce = randomBytes(NONCE);
  const body = await subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: aad },
    key,
    payload,
  );
  const out = Buffer.allocUnsafe(prefix + NONCE + body.byteLength);
  nonce.copy(out, prefix);
  out.set(new Uint8Array(body), prefix + NONCE);
  return out;
}

/**
 * Opens what {@link sealBlobAsync} (or `seal` with the blob's key) produced. The plaintext is
 * returned only after the tag verified.
 * @throws IntegrityError naming `what` when the data is truncated, altered, or under another key.
 */
export async function openBlobAsync(
  keys: RepositoryKeys,
  id: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array,
  what: string,
): Promise<Buffer> {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new IntegrityError(`${what}: too short to be encrypted data (${sealed.length} bytes)`);
  }
  if (sealed.length < POOL_MIN) return open(blobKey(keys, id), sealed, aad, what);
  const key = await _blobCipherKey(keys, id);
  try {
    const plain = await subtle.decrypt(
      { name: 'AES-GCM', iv: sealed.subarray(0, NONCE), additionalData: aad },
      key,
      sealed.subarray(NONCE),
    );
    return Buffer.from(plain);
  } catch (error) {
    throw new IntegrityError(`${what}: authentication failed (data altered or wrong key)`, {
      cause: error,
    });
  }
}

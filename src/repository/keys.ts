/**
 * Key files: the repository's random master key, wrapped once per password or key file under
 * `keys/<sha256>`. Several may exist, so a password is changed by adding a new key and removing
 * the old one, without re-encrypting any data.
 * @module
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { z } from 'zod';
import { IntegrityError, UsageError, WrongPasswordError } from '../errors.ts';
import type { Store } from '../stores/types.ts';
import { open, seal, sha256Hex } from './crypto.ts';
import {
  DEFAULT_SCRYPT,
  derivePasswordKey,
  isAcceptedScryptCost,
  scryptCostOf,
} from './password-kdf.ts';
import { compareText } from '../util/compare-text.ts';
import { parseJsonOrUndefined } from '../util/parse-json.ts';

/** How a master key is unlocked: a password, or the 32+ bytes of a key file. */
export type Credential =
  | { readonly kind: 'password'; readonly password: string }
  | { readonly kind: 'keyFile'; readonly secret: Buffer };

const KeyFileSchema = z
  .object({
    version: z.literal(1),
    kdf: z.enum(['scrypt', 'keyfile']),
    N: z.number().int().positive().optional(),
    r: z.number().int().positive().optional(),
    p: z.number().int().positive().optional(),
    salt: z.string(),
    data: z.string(),
    created: z.string(),
    host: z.string(),
    username: z.string(),
    label: z.string().optional(),
  })
  .refine((file) => file.kdf !== 'scrypt' || isAcceptedScryptCost(scryptCostOf(file)), {
    message: 'scrypt cost out of bounds',
  });
type KeyFile = z.infer<typeof KeyFileSchema>;

/** A key as `hbr key list` shows it. */
export interface KeyInfo {
  readonly id: string;
  readonly kdf: 'scrypt' | 'keyfile';
  readonly created: string;
  readonly host: string;
  readonly username: string;
  readonly label?: string;
  /** Whether this key is the one that opened the repository in this process. */
  current: boolean;
  /** What is wrong with a key file that opens nothing (its other fields are then empty). */
  readonly damaged?: string;
}

/** The fewest bytes a new key file may hold: a shorter one is guessed, not derived. */
export const MIN_KEY_FILE_BYTES = 32;

/**
 * Wraps `masterKey` under `credential` and stores a new key file; returns its id. The one
 * check of a new key file's length, for `init` and `key add` alike (an existing short one
 * still opens its repository).
 * @throws UsageError for a key file shorter than {@link MIN_KEY_FILE_BYTES}.
 */
export async function addKey(
  store: Store,
  masterKey: Buffer,
  credential: Credential,
  options: { label?: string; scryptParams?: { N: number; r: number; p: number } } = {},
): Promise<string> {
  // A key file is used as is (HKDF, no slow derivation): its own bytes are its only strength.
  if (credential.kind === 'keyFile' && credential.secret.length < MIN_KEY_FILE_BYTES)
    throw new UsageError(
      `a key file must hold at least ${MIN_KEY_FILE_BYTES} bytes (head -c 32 /dev/urandom > key)`,
    );
  const salt = randomBytes(32);
  const params = options.scryptParams ?? DEFAULT_SCRYPT;
  const kek = await _deriveKek(credential, salt, params);
  const file: KeyFile = {
    version: 1,
    kdf: credential.kind === 'password' ? 'scrypt' : 'keyfile',
    ...(credential.kind === 'password' ? params : {}),
    salt: salt.toString('base64'),
    data: seal(kek, masterKey, Buffer.from('hbr:key')).toString('base64'),
    created: new Date().toISOString(),
    host: hostname(),
    username: _username(),
    ...(options.label ? { label: options.label } : {}),
  };
  const bytes = Buffer.from(`${JSON.stringify(file, null, 2)}\n`);
  const id = sha256Hex(bytes);
  await store.put(`keys/${id}`, bytes);
  return id;
}

export interface UnlockOptions {
  /**
   * Called once a key derivation has started: scrypt runs on the thread pool for a quarter
   * second, and the calling thread is free meanwhile (a files backup scans its paths then).
   */
  readonly onDeriveKey?: () => void;
}

/**
 * Finds the key file `credential` opens whose master key `accept` takes (it opens the repository's
 * config: a key file copied from another repository, or planted, opens with the same password
 * but holds another master key), and returns that key with what `accept` returned.
 * @throws WrongPasswordError when no key file opens with it; `accept`'s IntegrityError when keys
 * open but none is accepted (the config is damaged, or every key is foreign).
 */
export async function unlockMasterKey<T>(
  store: Store,
  credential: Credential,
  accept: (masterKey: Buffer) => T | Promise<T>,
  options: UnlockOptions = {},
): Promise<{ masterKey: Buffer; keyId: string; accepted: T }> {
  const read = await _readAllKeys(store);
  const damaged = read.damaged.map((d) => d.problem);
  let refused: IntegrityError | undefined;
  for (const { id, file } of read.keys) {
    if ((file.kdf === 'scrypt') !== (credential.kind === 'password')) continue;
    const deriving = _deriveKek(credential, Buffer.from(file.salt, 'base64'), scryptCostOf(file));
    options.onDeriveKey?.();
    let kek: Buffer;
    try {
      kek = await deriving;
    } catch (error) {
      // scrypt refused the file's cost (within bounds, yet too much for this machine's memory).
      damaged.push(`key file keys/${id}: ${(error as Error).message}`);
      continue;
    }
    let masterKey: Buffer;
    try {
      masterKey = open(kek, Buffer.from(file.data, 'base64'), Buffer.from('hbr:key'), id);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      continue;
    }
    try {
      return { masterKey, keyId: id, accepted: await accept(masterKey) };
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      refused ??= error;
    }
  }
  if (refused) throw refused;
  // The one it may have been is damaged: say so rather than blame the credential.
  if (damaged.length > 0) {
    throw new IntegrityError(
      `[repository:${store.name}] no intact key opens with this credential; damaged: ${damaged.join('; ')}`,
    );
  }
  const what = credential.kind === 'password' ? 'password' : 'key file';
  throw new WrongPasswordError(
    `[repository:${store.name}] wrong ${what}: no key of this repository opens with it`,
  );
}

/**
 * Lists keys for `hbr key list` and `key remove`: the intact ones oldest first, then the damaged
 * ones, which can be removed but open nothing.
 */
export async function listKeys(store: Store, currentKeyId: string): Promise<KeyInfo[]> {
  const { keys, damaged } = await _readAllKeys(store);
  return [
    ...keys.map(({ id, file }) => ({
      id,
      kdf: file.kdf,
      created: file.created,
      host: file.host,
      username: file.username,
      ...(file.label ? { label: file.label } : {}),
      current: id === currentKeyId,
    })),
    ...damaged.map(({ id, problem }) => ({
      id,
      kdf: 'scrypt' as const,
      created: '',
      host: '',
      username: '',
      current: false,
      damaged: problem,
    })),
  ];
}

// --- internal ---

/**
 * The intact key files, oldest first, and what is wrong with the others: one damaged key file
 * (or a stray object among them) must not lock out the credentials of the rest.
 */
async function _readAllKeys(store: Store): Promise<{
  keys: { id: string; file: KeyFile }[];
  damaged: { id: string; problem: string }[];
}> {
  const keys: { id: string; file: KeyFile }[] = [];
  const damaged: { id: string; problem: string }[] = [];
  for await (const { key } of store.list('keys/')) {
    const id = key.slice('keys/'.length);
    const bytes = await store.get(key);
    if (sha256Hex(bytes) !== id) {
      damaged.push({ id, problem: `key file ${key} does not match its name` });
      continue;
    }
    const parsed = KeyFileSchema.safeParse(parseJsonOrUndefined(bytes.toString('utf8')));
    if (!parsed.success) {
      damaged.push({ id, problem: `key file ${key} is malformed` });
      continue;
    }
    keys.push({ id, file: parsed.data });
  }
  return { keys: keys.sort((a, b) => compareText(a.file.created, b.file.created)), damaged };
}

async function _deriveKek(
  credential: Credential,
  salt: Buffer,
  params: { N: number; r: number; p: number },
): Promise<Buffer> {
  if (credential.kind === 'keyFile') {
    return Buffer.from(hkdfSync('sha256', credential.secret, salt, 'hbr v1 key file', 32));
  }
  return derivePasswordKey(credential.password, salt, params);
}

function _username(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

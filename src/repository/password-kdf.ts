/**
 * The password key derivation (scrypt), which a command may start before it needs the result.
 * Deriving takes a quarter second of one core on the thread pool; a command knows the password
 * and the key file it will most likely need well before its own modules have loaded (see
 * cli/early-unlock.ts), so it starts the derivation then, and the unlock later takes that
 * derivation instead of starting its own, but only when password, salt and cost are exactly the
 * ones it needs: a wrong guess costs a derivation, never a wrong key.
 * @module
 */
import { scrypt } from 'node:crypto';

/** scrypt's cost parameters. */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** scrypt cost: N=2^16, r=8, p=1 (64 MiB, about 0.25 s here), as kopia. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 16, r: 8, p: 1 };

/**
 * Whether a scrypt cost is one hbr derives with: N a power of two from 2^10 to 2^20, r up to 32,
 * p up to 16, and at most 256 MiB of memory (the default takes 64). A key file is anyone's to
 * write who can write to the store: unbounded, its cost could hang every unlock or exhaust memory.
 */
export function isAcceptedScryptCost({ N, r, p }: ScryptParams): boolean {
  const powerOfTwo = Number.isInteger(N) && N >= 2 ** 10 && N <= 2 ** 20 && (N & (N - 1)) === 0;
  const whole = (n: number, most: number): boolean => Number.isInteger(n) && n >= 1 && n <= most;
  return powerOfTwo && whole(r, 32) && whole(p, 16) && 128 * N * r <= 256 * 2 ** 20;
}

/** A key file's scrypt cost: what it gives, {@link DEFAULT_SCRYPT} for what it leaves out. */
export function scryptCostOf(file: {
  readonly N?: number | undefined;
  readonly r?: number | undefined;
  readonly p?: number | undefined;
}): ScryptParams {
  return {
    N: file.N ?? DEFAULT_SCRYPT.N,
    r: file.r ?? DEFAULT_SCRYPT.r,
    p: file.p ?? DEFAULT_SCRYPT.p,
  };
}

/**
 * Derives the 32-byte key that wraps a master key from `password`, or takes the derivation
 * {@link startPasswordDerivation} began with the same inputs (each is taken once).
 */
export function derivePasswordKey(
  password: string,
  salt: Buffer,
  params: ScryptParams,
): Promise<Buffer> {
  const key = _key(salt, params);
  const started = _started.get(key);
  if (started?.password === password) {
    _started.delete(key);
    return started.deriving;
  }
  return _scrypt(password, salt, params);
}

/**
 * Starts deriving what {@link derivePasswordKey} will be asked for with these inputs, unless that
 * derivation is started and not taken yet (false then). A later start for the same salt and cost
 * with another password replaces this one.
 */
export function startPasswordDerivation(
  password: string,
  salt: Buffer,
  params: ScryptParams,
): boolean {
  if (_started.get(_key(salt, params))?.password === password) return false;
  _startedCount++;
  const deriving = _scrypt(password, salt, params);
  deriving.catch(() => undefined); // reported to whoever takes it, if anyone does
  _started.set(_key(salt, params), { password, deriving });
  return true;
}

/** How many derivations {@link startPasswordDerivation} has started in this process (for tests). */
export function startedDerivations(): number {
  return _startedCount;
}

/** How many started derivations nobody has taken yet (for tests). */
export function untakenDerivations(): number {
  return _started.size;
}

// --- internal ---

let _startedCount = 0;
const _started = new Map<string, { password: string; deriving: Promise<Buffer> }>();

function _key(salt: Buffer, { N, r, p }: ScryptParams): string {
  return `${N}:${r}:${p}:${salt.toString('base64')}`;
}

function _scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // Node's default maxmem (32 MiB) rejects N=2^16,r=8; allow what the parameters need.
  const maxmem = 128 * params.N * params.r * 2;
  const { N, r, p } = params;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, 32, { N, r, p, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

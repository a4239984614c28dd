import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes each of `files` (path relative to `root` → its bytes) below `root`, its folders made. */
export async function writeFiles(root: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
  for (const [path, bytes] of files) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), bytes);
  }
}

/** A fresh temporary folder and its removal. */
export async function tempDir(
  prefix = 'hbr-test-',
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes (xorshift32), so tests are reproducible. */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Compressible text-like bytes. */
export function textBytes(length: number, seed = 1): Buffer {
  const words = [
    'atom',
    'model',
    'weight',
    'tensor',
    'graph',
    'node',
    'edge',
    'provenance',
    '{"id":',
    '},\n',
  ];
  const rnd = pseudoRandomBytes(length, seed);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const w = words[(rnd[i % length] ?? 0) % words.length] ?? '';
    parts.push(w, ' ');
    size += w.length + 1;
  }
  return Buffer.from(parts.join('')).subarray(0, length);
}

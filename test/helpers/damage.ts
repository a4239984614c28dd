import { createHash } from 'node:crypto';
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobLocation } from '../../src/repository/master-index.ts';
import { packKey } from '../../src/repository/pack.ts';

/**
 * Flips a byte in the middle of a blob's stored bytes, at `where` (as the index gives it) in the
 * local repository at `repoDir`: whatever reads that blob then fails to authenticate it. Flipping
 * it again puts the byte back.
 */
export async function flipStoredByte(repoDir: string, where: BlobLocation): Promise<void> {
  const file = await open(join(repoDir, ...packKey(where.packId).split('/')), 'r+');
  try {
    const byte = Buffer.alloc(1);
    const position = where.offset + Math.floor(where.length / 2);
    await file.read(byte, 0, 1, position);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await file.write(byte, 0, 1, position);
  } finally {
    await file.close();
  }
}

/**
 * Every object of the local repository at `repoDir` but its locks, with the SHA-256 of its
 * bytes: equal before and after a command that must change nothing.
 */
export async function storedObjects(repoDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const path of await readdir(repoDir, { recursive: true })) {
    if (path.startsWith('locks')) continue;
    const bytes = await readFile(join(repoDir, path)).catch(() => undefined); // a folder
    if (bytes) out.push(`${path} ${createHash('sha256').update(bytes).digest('hex')}`);
  }
  return out.sort();
}

/**
 * Walks a folder and summarises it: file count, total bytes and a digest per file. Used to
 * size the data set and to prove that a restore gave back exactly the backed-up bytes.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';

/** What {@link summarizeTree} found. */
export interface TreeSummary {
  readonly files: number;
  readonly bytes: number;
  /** SHA-256 (hex) per file path relative to the root, in path order; empty unless asked for. */
  readonly digests: ReadonlyMap<string, string>;
}

/** Reads in parallel so that small files do not serialise on latency. */
const READ_CONCURRENCY = 8;

/** Lists every regular file under `root` (relative paths, sorted). */
export async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

/** Counts and sizes the files under `root`, and hashes them when `withDigests` is set. */
export async function summarizeTree(root: string, withDigests = false): Promise<TreeSummary> {
  const files = await listFiles(root);
  const limit = pLimit(READ_CONCURRENCY);
  const results = await Promise.all(
    files.map((file) =>
      limit(async () => {
        const path = join(root, file);
        const digest = withDigests ? await digestFile(path) : '';
        return { file, digest, size: (await stat(path)).size };
      }),
    ),
  );
  const digests = new Map(withDigests ? results.map((r) => [r.file, r.digest] as const) : []);
  return { files: files.length, bytes: results.reduce((a, r) => a + r.size, 0), digests };
}

/** Paths whose digest differs between two summaries, or which only one of them has. */
export function diffTrees(a: TreeSummary, b: TreeSummary): string[] {
  const paths = new Set([...a.digests.keys(), ...b.digests.keys()]);
  return [...paths].filter((path) => a.digests.get(path) !== b.digests.get(path)).sort();
}

// --- internal ---

async function digestFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}

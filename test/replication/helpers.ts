/**
 * Shared set-up of the replication tests: a source tree, a repository with backups of it, and
 * comparisons of what a restore brings back.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { hbr, summaryOf, type CliResult } from '../helpers/cli.ts';
import { pseudoRandomBytes, textBytes } from '../helpers/temp.ts';

/** The password of every test repository. */
export const PASSWORD = 'replica test password';

/** Writes a small tree of incompressible and text files under `root`; `seed` varies content. */
export async function writeTree(root: string, seed: number, megabytes = 6): Promise<void> {
  await mkdir(join(root, 'models', 'deep'), { recursive: true });
  await writeFile(
    join(root, 'models', 'weights.bin'),
    pseudoRandomBytes(megabytes * 1024 * 1024, seed),
  );
  await writeFile(join(root, 'models', 'deep', 'notes.json'), textBytes(200_000, seed + 1));
  await writeFile(join(root, `run-${seed}.log`), `run ${seed}\n`);
}

/** Every file under `root` (relative path → bytes). */
export async function readTree(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.set(relative(root, path), await readFile(path));
  }
  return out;
}

/** Asserts that two trees hold the same files with the same bytes. */
export async function assertSameTree(actual: string, expected: string): Promise<void> {
  const [a, e] = [await readTree(actual), await readTree(expected)];
  assert.deepEqual([...a.keys()].sort(), [...e.keys()].sort());
  for (const [path, bytes] of e) assert.ok(a.get(path)?.equals(bytes), `${path} differs`);
}

/** Runs hbr and fails with its output when the exit code is not `code`. */
export async function expectCode(
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string },
  code = 0,
): Promise<CliResult> {
  const result = await hbr(args, options);
  assert.equal(
    result.code,
    code,
    `hbr ${args.join(' ')} → ${result.code}\n${result.stdout}\n${result.stderr}`,
  );
  return result;
}

/** The `--json` summary of `hbr replicate`. */
export interface ReplicateSummary {
  newReplica: boolean;
  copiedObjects: number;
  copiedBytes: number;
  ok: boolean;
  kinds: Record<string, { copied: number; present: number; failed: number }>;
  errors: { key: string; message: string }[];
}

/** Parses the summary line of `hbr … replicate --json`. */
export function replicateSummary(result: CliResult): ReplicateSummary {
  return summaryOf(result) as unknown as ReplicateSummary;
}

/** Backup ids listed by `hbr backups --json` with `env` and `--repo location`. */
export async function backupIds(
  location: string,
  options: { env: NodeJS.ProcessEnv; cwd: string },
): Promise<string[]> {
  const result = await expectCode(['--repo', location, 'backups', '--json'], options);
  return (JSON.parse(result.stdout) as { id: string }[]).map((b) => b.id).sort();
}

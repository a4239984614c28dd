/**
 * A quick count of what a files backup will cover, run beside the backup so progress can show
 * a percentage and an ETA (restic does the same). Only metadata is read; the totals are an
 * estimate, since files may change while the backup runs.
 * @module
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createExcluder, type Excluder } from './excludes.ts';

/** Files (regular files and symlinks) and bytes found so far. */
export interface ScanTotals {
  files: number;
  bytes: number;
}

/**
 * Walks `paths` with the same excludes as the backup, reporting running totals; resolves with
 * the final totals. Unreadable entries are skipped (the backup reports them).
 */
export async function scanFiles(
  paths: readonly string[],
  exclude: readonly string[],
  onTotals: (totals: ScanTotals) => void,
  signal?: AbortSignal,
): Promise<ScanTotals> {
  const totals: ScanTotals = { files: 0, bytes: 0 };
  const visit = async (path: string, excluder: Excluder): Promise<void> => {
    signal?.throwIfAborted();
    const st = await lstat(path).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) {
      const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
      const inner = await excluder.enter(path, entries);
      for (const entry of entries) {
        const child = join(path, entry.name);
        if (!inner.excludes(child, entry.isDirectory())) await visit(child, inner);
      }
      onTotals(totals);
    } else if (st.isFile() || st.isSymbolicLink()) {
      totals.files++;
      if (st.isFile()) totals.bytes += st.size;
    }
  };
  const excluder = createExcluder(exclude);
  for (const path of paths) await visit(path, excluder);
  onTotals(totals);
  return totals;
}

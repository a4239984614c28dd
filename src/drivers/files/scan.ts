/**
 * A quick count of what a files backup will cover, run beside the backup so progress can show
 * a percentage and an ETA (restic does the same). Only metadata is read; the totals are an
 * estimate, since files may change while the backup runs.
 * @module
 */
import { lstatSync, readdirSync, type BigIntStats, type Dirent, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { childPath } from './child-path.ts';
import { hasUndecodableName } from './list-folder.ts';
import { createExcluder, type Excluder } from './excludes.ts';
import { byName } from '../../repository/index.ts';
import { putStat, STAT_FIELDS, type SeenFolders } from './seen-folders.ts';

/** Files (regular files and symlinks) and bytes found so far. */
export interface ScanTotals {
  files: number;
  bytes: number;
}

/** The scan yields to the event loop after this long, so the I/O it runs beside goes on. */
const SLICE_MS = 2;

/**
 * Walks `paths` with the same excludes as the backup, reporting running totals; resolves with
 * the final totals. Unreadable entries are skipped (the backup reports them). While `seen` is
 * open, every folder's listing and its entries' stats are kept there for the backup's walk.
 */
export async function scanFiles(
  paths: readonly string[],
  exclude: readonly string[],
  onTotals: (totals: ScanTotals) => void,
  signal?: AbortSignal,
  seen?: SeenFolders,
): Promise<ScanTotals> {
  const totals: ScanTotals = { files: 0, bytes: 0 };
  // Synchronous calls in slices of a few milliseconds: a stat from the inode cache takes
  // microseconds, less than a promise's round trip through the thread pool, whose threads the
  // key derivation beside the scan needs.
  let sliceEnd = 0;
  const count = (st: Stats | BigIntStats): void => {
    if (st.isFile() || st.isSymbolicLink()) totals.files++;
    if (st.isFile()) totals.bytes += Number(st.size);
  };
  const folder = async (path: string, outer: Excluder): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return;
    }
    const excluder = await outer.enter(path, entries);
    const keep = seen?.open === true;
    // Sorted first when kept: the stats sit beside the entries, in the walk's order.
    if (keep) entries.sort(byName);
    const stats = keep ? new BigUint64Array(entries.length * STAT_FIELDS) : undefined;
    const folders: string[] = [];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Dirent;
      if (performance.now() > sliceEnd) {
        await yieldToEvents();
        sliceEnd = performance.now() + SLICE_MS;
      }
      signal?.throwIfAborted();
      const child = childPath(path, entry.name);
      if (excluder.excludes(child, entry.isDirectory())) continue;
      let st: Stats | BigIntStats;
      try {
        st = stats ? lstatSync(child, { bigint: true }) : lstatSync(child);
      } catch {
        continue;
      }
      if (stats) putStat(stats, i, st as BigIntStats);
      if (st.isDirectory()) folders.push(child);
      else count(st);
    }
    // Not a folder with names that may not be UTF-8: the walk lists it and reports them.
    if (stats && !hasUndecodableName(entries)) seen?.remember(path, entries, stats);
    onTotals(totals);
    for (const child of folders) await folder(child, excluder);
  };
  const excluder = createExcluder(exclude);
  for (const path of paths) {
    signal?.throwIfAborted();
    const st = await lstat(path).catch(() => undefined);
    if (st?.isDirectory()) await folder(path, excluder);
    else if (st) count(st);
  }
  onTotals(totals);
  return totals;
}

/**
 * hbr's own backup sets that msdb shows and the repository does not hold, yet whose commit did not
 * fail, so they are no gap and nothing is lost: the sets of the backups `hbr forget` removed (it
 * records them in the repository, `forgotten.ts`), and the sets no restore can reach any more,
 * whatever became of them ({@link beyondEveryRestore}). The record keeps only what the rule does
 * not already cover, nor what msdb no longer shows, so it holds the sets forget removed after the
 * oldest full it keeps and within `importHistoryDays`, never the whole history.
 * @module
 */
import { z } from 'zod';
import { isHbrError } from '../../errors.ts';
import {
  readForgotten,
  type BackupRecord,
  type ForgottenEntries,
  type OpenRepository,
} from '../../repository/index.ts';
import type { BackupSetRecord } from './backup-set.ts';
import { buildCatalog } from './catalog.ts';
import { recordFromMeta } from './manifest-meta.ts';

/**
 * Whether no restore and no gap check can reach `set` any more, whatever became of it: it
 * finished before every full backup in `catalog` (the sets a restore can read) started. Every
 * restore plan starts at a full and crosses only what holds log records after it (`plan-path.ts`;
 * a set of a database dropped and made again, by its time), and the gap check looks past the
 * newest full or differential (`chain-facts.ts`). A conventional full is also the base of the
 * differentials after it until the next one: it is beyond only once the catalog holds a
 * conventional full. Times, not LSNs: after a restore to a point in time, a full of the new
 * recovery fork may have lower LSNs than sets of the fork abandoned, never an earlier start. With
 * no full in the catalog, nothing is beyond.
 */
export function beyondEveryRestore(
  set: Pick<BackupSetRecord, 'type' | 'isCopyOnly' | 'finish'>,
  catalog: readonly BackupSetRecord[],
): boolean {
  const fulls = catalog.filter((r) => r.type === 'full');
  if (fulls.length === 0) return false;
  if (fulls.some((f) => f.start.getTime() < set.finish.getTime())) return false;
  return set.type !== 'full' || set.isCopyOnly || fulls.some((f) => !f.isCopyOnly);
}

/**
 * The BackupSetGUIDs (lower-case) of the sets of `source` that forget recorded as removed. The
 * record is advice: one that cannot be read (a credential without the right, a damaged object) is
 * a warning, and none, so that the sets it would have named are called lost; the backup or
 * restore goes on.
 */
export async function readForgottenSets(
  repo: OpenRepository,
  source: string,
  opts: { signal?: AbortSignal | undefined; warnings: string[] },
): Promise<Set<string>> {
  try {
    const { entries } = await readForgotten(repo, opts.signal);
    return new Set(_entries(entries.get(source) ?? []).map((e) => e.guid));
  } catch (error) {
    if (!isHbrError(error) || opts.signal?.aborted) throw error;
    opts.warnings.push(
      `the record of the backups forget removed could not be read (${error.message}): sets of those msdb still shows may be called lost`,
    );
    return new Set();
  }
}

/** How long after msdb stops showing a set (`importHistoryDays`) the record keeps it. */
export const FORGOTTEN_MARGIN_DAYS = 7;

/** How forget records (see {@link rememberForgotten}). */
export interface RememberOptions {
  /**
   * Whether to leave out what {@link beyondEveryRestore} covers. Not until the manifests are
   * deleted: a backup that reads the record meanwhile still sees the removed fulls, and judges by
   * them.
   */
  readonly applyRule: boolean;
  /** Per source, the days of history its backups read from msdb (`importHistoryDays`). */
  readonly historyDays: (source: string) => number;
}

/**
 * What forget records, per SQL Server source, when it removes the backups `removed` (ids) of
 * `backups` (all of the repository's): the sets of those backups and those recorded before, less
 * those msdb no longer shows to a backup (finished more than `historyDays` and
 * {@link FORGOTTEN_MARGIN_DAYS} before the source's newest backup finished: a backup reads only its
 * last `importHistoryDays`, and the next one comes later) and, with `applyRule`, those
 * {@link beyondEveryRestore} covers, judged on the backups it keeps. Where those cannot be read,
 * the rule leaves nothing out. Entries this hbr cannot read (a later hbr's) are kept as they are.
 */
export function rememberForgotten(
  backups: readonly BackupRecord[],
  removed: ReadonlySet<string>,
  recorded: ForgottenEntries,
  options: RememberOptions,
): Map<string, unknown[]> {
  // Per source, by set: the entry as recorded, and as read (none: a later hbr's, kept as it is).
  type Held = { item: unknown; entry?: z.output<typeof EntrySchema> };
  const entries = new Map<string, Map<string, Held>>();
  const add = (source: string, key: string, held: Held): void => {
    const list = entries.get(source) ?? new Map<string, Held>();
    entries.set(source, list.set(key, held));
  };
  for (const [source, items] of recorded)
    for (const item of items) {
      const entry = EntrySchema.safeParse(item).data;
      add(
        source,
        entry ? entry.guid : JSON.stringify(item),
        entry ? { item: entry, entry } : { item },
      );
    }
  for (const b of backups) {
    if (!removed.has(b.id) || b.kind !== 'sqlserver') continue;
    let set: BackupSetRecord;
    try {
      set = recordFromMeta(b.id, b.meta);
    } catch {
      continue; // no SQL Server backup's manifest: no set of it for msdb to show
    }
    const item = {
      guid: set.backupSetGuid,
      type: set.type,
      copyOnly: set.isCopyOnly,
      finish: set.finish.toISOString(),
    } satisfies Entry;
    add(b.source, set.backupSetGuid, { item, entry: EntrySchema.parse(item) });
  }
  const kept = backups.filter((b) => !removed.has(b.id));
  const result = new Map<string, unknown[]>();
  for (const [source, list] of entries) {
    let catalog: readonly BackupSetRecord[] | null = null;
    if (options.applyRule)
      try {
        catalog = buildCatalog(kept, source).records;
      } catch {
        // A manifest that cannot be read: what the rule covers is not known, so all is kept.
      }
    const days = options.historyDays(source) + FORGOTTEN_MARGIN_DAYS;
    // Folded, not spread into Math.max: a year of 15-minute logs is 35,000 backups, arguments
    // enough to come near the engine's limit.
    const newest = backups.reduce(
      (at, b) => (b.source === source ? Math.max(at, Date.parse(b.finishedAt)) : at),
      -Infinity,
    );
    const shown = newest - days * 86_400_000; // -Infinity without a backup: all kept
    const left = [...list.values()]
      .filter(({ entry: e }) => {
        if (!e) return true;
        if (new Date(e.finish).getTime() < shown) return false;
        return !catalog || !beyondEveryRestore(_asSet(e), catalog);
      })
      .map(({ item }) => item);
    if (left.length > 0) result.set(source, left);
  }
  return result;
}

// --- internal ---

/** One set forget removed, as recorded: its id, and what tells when the rule covers it. */
const EntrySchema = z.object({
  guid: z.string().transform((g) => g.toLowerCase()),
  type: z.enum(['full', 'diff', 'log']),
  copyOnly: z.boolean(),
  finish: z.iso.datetime(),
});
type Entry = z.input<typeof EntrySchema>;

function _entries(items: readonly unknown[]): z.output<typeof EntrySchema>[] {
  return items.flatMap((item) => EntrySchema.safeParse(item).data ?? []);
}

function _asSet(e: z.output<typeof EntrySchema>): Parameters<typeof beyondEveryRestore>[0] {
  return { type: e.type, isCopyOnly: e.copyOnly, finish: new Date(e.finish) };
}

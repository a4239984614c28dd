/**
 * What `hbr forget` removed that the drivers must still recognise. A SQL Server backup's set stays
 * in msdb after forget removes its manifest: seen there, on hbr's own device and not in the
 * repository, it would be taken for a backup whose commit failed. Forget records such facts in
 * sealed JSON objects `forgotten/<sha256>`, named by the hash of their bytes, per source, as the
 * source's driver gives them (opaque here).
 *
 * Each forget writes one object holding what the objects before it held and what it removed, less
 * what its driver no longer needs, and only then deletes the objects it read (see
 * `forgetBackups`): one object, however many forgets ran; two forgets at once each write their own,
 * and the next merges them. Old objects the store will not delete (retention) stay and are merged
 * too. A reader that finds an object gone meanwhile lists again: the forget that deleted it had
 * written what it held to an object that listing may have missed. Not replicated: a replica deletes nothing, so it
 * still holds every backup forget removed here.
 * @module
 */
import { z } from 'zod';
import { isHbrError, StoreError } from '../errors.ts';
import { openObject, sealObject, sha256Hex } from './crypto.ts';
import type { OpenRepository } from './repository.ts';
import { compareText } from '../util/compare-text.ts';
import { parseJsonOrUndefined } from '../util/parse-json.ts';

/** The folder of the objects. */
export const FORGOTTEN_PREFIX = 'forgotten/';

const ForgottenSchema = z.object({ sources: z.record(z.string(), z.array(z.unknown())) });

/** Per source, the entries its driver recorded. */
export type ForgottenEntries = ReadonlyMap<string, readonly unknown[]>;

/** What the objects hold, and their keys (those that could be read), each with what it holds. */
export interface ForgottenRecord {
  readonly keys: readonly string[];
  readonly entries: ForgottenEntries;
  /** Per key, what that object holds, canonical (see {@link _canonical}). */
  readonly held: ReadonlyMap<string, string>;
}

/** What {@link readForgotten} passes over, for `check` to report. */
export interface ForgottenReport {
  /** An object that does not match its name, cannot be opened, or holds no record. */
  readonly onDamaged?: (key: string, why: string) => void;
  /** An object whose name is no SHA-256: never read. */
  readonly onStray?: (key: string) => void;
}

/** How many listings in a row may each lose an object to a concurrent forget (as locks do). */
const LISTINGS = 5;

/**
 * Every object's entries, merged per source (in the order read; the driver removes duplicates).
 * Damaged objects are skipped, and kept: {@link ForgottenRecord} `keys` leaves them out. An object
 * gone between the listing and its read was replaced by a concurrent forget, whose new object that
 * listing may have missed: the read starts over with a fresh listing, up to {@link LISTINGS} times.
 * @throws StoreError when the store cannot list or read them, or objects vanished in every listing.
 */
export async function readForgotten(
  repo: OpenRepository,
  signal?: AbortSignal,
  report: ForgottenReport = {},
): Promise<ForgottenRecord> {
  for (let attempt = 1; ; attempt++) {
    const record = await _readListing(repo, signal, report);
    if (record) return record;
    if (attempt === LISTINGS)
      throw new StoreError(
        `[repository:${repo.store.name}] ${FORGOTTEN_PREFIX}: an object vanished while they were read, in each of ${LISTINGS} looks in a row; try again`,
        { permanent: false },
      );
  }
}

/**
 * Replaces the objects `before` was read from with one holding `entries` (none when it is empty):
 * the new object is written first, then the old ones deleted. Nothing is written when one object
 * read already holds exactly `entries`. A delete the store refuses (an object under retention, a
 * credential that may not delete) is passed over: what the old object held is in the one kept, and
 * a reader merges them all. Run under the lock of a command that deletes.
 * @throws StoreError when the store cannot write the new object.
 */
export async function replaceForgotten(
  repo: OpenRepository,
  before: ForgottenRecord,
  entries: ForgottenEntries,
  signal?: AbortSignal,
): Promise<void> {
  const text = _canonical(entries);
  let kept = before.keys.find((key) => before.held.get(key) === text);
  if (text !== null && kept === undefined) {
    const bytes = sealObject(repo.keys, 'forgotten', Buffer.from(text));
    kept = `${FORGOTTEN_PREFIX}${sha256Hex(bytes)}`;
    await repo.store.put(kept, bytes, { signal });
  }
  for (const key of before.keys) {
    if (key === kept) continue;
    try {
      await repo.store.delete(key, { signal });
    } catch (error) {
      // Its content is in the object kept; left, it costs a read, and the next forget tries again.
      if (!isHbrError(error) || signal?.aborted) throw error;
    }
  }
}

// --- internal ---

/** One listing's objects, read; `undefined` when one vanished before it could be read. */
async function _readListing(
  repo: OpenRepository,
  signal: AbortSignal | undefined,
  report: ForgottenReport,
): Promise<ForgottenRecord | undefined> {
  const keys: string[] = [];
  const held = new Map<string, string>();
  const entries = new Map<string, unknown[]>();
  for await (const { key } of repo.store.list(FORGOTTEN_PREFIX, { signal })) {
    const name = key.slice(FORGOTTEN_PREFIX.length);
    if (!/^[0-9a-f]{64}$/.test(name)) {
      report.onStray?.(key);
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await repo.store.get(key, { signal });
    } catch (error) {
      if (error instanceof StoreError && error.status === 404) return undefined;
      throw error;
    }
    if (sha256Hex(bytes) !== name) {
      report.onDamaged?.(key, 'does not match its name');
      continue;
    }
    let parsed: z.infer<typeof ForgottenSchema> | undefined;
    try {
      const text = openObject(repo.keys, 'forgotten', bytes, key).toString('utf8');
      parsed = ForgottenSchema.safeParse(parseJsonOrUndefined(text)).data;
      if (!parsed) report.onDamaged?.(key, 'holds no record of removed backups');
    } catch (error) {
      if (!isHbrError(error)) throw error;
      report.onDamaged?.(key, error.message);
    }
    if (!parsed) continue;
    keys.push(key);
    const own = new Map(Object.entries(parsed.sources));
    held.set(key, _canonical(own) ?? '');
    for (const [source, items] of own)
      entries.set(source, [...(entries.get(source) ?? []), ...items]);
  }
  return { keys, entries, held };
}

/** The JSON of `entries`, sources in order and those without entries left out; `null` if none. */
function _canonical(entries: ForgottenEntries): string | null {
  const sources = [...entries].filter(([, items]) => items.length > 0);
  if (sources.length === 0) return null;
  sources.sort(([a], [b]) => compareText(a, b));
  return JSON.stringify({ sources: Object.fromEntries(sources) });
}

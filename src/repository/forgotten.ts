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
 * and the next merges them. A reader that finds an object gone meanwhile lost nothing: the forget
 * that deleted it had written what it held before. Not replicated: a replica deletes nothing, so it
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

/** What the objects hold, and their keys (those that could be read). */
export interface ForgottenRecord {
  readonly keys: readonly string[];
  readonly entries: ForgottenEntries;
}

/**
 * Every object's entries, merged per source (in the order read; the driver removes duplicates).
 * Damaged objects are skipped, and kept: {@link ForgottenRecord} `keys` leaves them out.
 * @throws StoreError when the store cannot list or read them.
 */
export async function readForgotten(
  repo: OpenRepository,
  signal?: AbortSignal,
): Promise<ForgottenRecord> {
  const keys: string[] = [];
  const entries = new Map<string, unknown[]>();
  for await (const { key } of repo.store.list(FORGOTTEN_PREFIX, { signal })) {
    const name = key.slice(FORGOTTEN_PREFIX.length);
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    let bytes: Buffer;
    try {
      bytes = await repo.store.get(key, { signal });
    } catch (error) {
      // Deleted since the listing, by a forget that wrote what it held first.
      if (error instanceof StoreError && error.status === 404) continue;
      throw error;
    }
    if (sha256Hex(bytes) !== name) continue;
    let parsed: z.infer<typeof ForgottenSchema> | undefined;
    try {
      const text = openObject(repo.keys, 'forgotten', bytes, key).toString('utf8');
      parsed = ForgottenSchema.safeParse(parseJsonOrUndefined(text)).data;
    } catch (error) {
      if (!isHbrError(error)) throw error;
    }
    if (!parsed) continue;
    keys.push(key);
    for (const [source, items] of Object.entries(parsed.sources))
      entries.set(source, [...(entries.get(source) ?? []), ...items]);
  }
  return { keys, entries };
}

/**
 * Replaces the objects `before` was read from with one holding `entries` (none when it is empty):
 * the new object is written first, then the old ones deleted. Nothing is written or deleted when
 * one object already holds exactly `entries`. Run under the lock of a command that deletes.
 * @throws StoreError (or DeleteForbiddenError) when the store refuses; what was written stays.
 */
export async function replaceForgotten(
  repo: OpenRepository,
  before: ForgottenRecord,
  entries: ForgottenEntries,
  signal?: AbortSignal,
): Promise<void> {
  const text = _canonical(entries);
  if (before.keys.length === (text === null ? 0 : 1) && text === _canonical(before.entries)) return;
  let written: string | undefined;
  if (text !== null) {
    const bytes = sealObject(repo.keys, 'forgotten', Buffer.from(text));
    written = `${FORGOTTEN_PREFIX}${sha256Hex(bytes)}`;
    await repo.store.put(written, bytes, { signal });
  }
  for (const key of before.keys) if (key !== written) await repo.store.delete(key, { signal });
}

// --- internal ---

/** The JSON of `entries`, sources in order and those without entries left out; `null` if none. */
function _canonical(entries: ForgottenEntries): string | null {
  const sources = [...entries].filter(([, items]) => items.length > 0);
  if (sources.length === 0) return null;
  sources.sort(([a], [b]) => compareText(a, b));
  return JSON.stringify({ sources: Object.fromEntries(sources) });
}

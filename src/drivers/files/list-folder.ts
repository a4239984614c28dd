/**
 * A folder's listing for the backup, without names it cannot record. Names on Linux are bytes;
 * Node decodes them as UTF-8 and puts U+FFFD in place of what is not, so `n\xff` and a real
 * `n\uFFFD` come out as one name (recorded twice, the folder could not be restored), and a
 * Latin-1 name cannot be opened by its decoded name. Trees record names as text, so such a name
 * is left out and reported, never recorded as another.
 * @module
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { byName } from '../../repository/index.ts';

/** A folder's entries (sorted by name) and the names left out, their bytes escaped (`n\xff`). */
export interface FolderListing {
  readonly entries: Dirent[];
  readonly undecodable: readonly string[];
}

/** Lists `path`, leaving out names that are not valid UTF-8. @throws what `readdir` throws. */
export async function listFolder(path: string): Promise<FolderListing> {
  const entries = await readdir(path, { withFileTypes: true });
  if (!hasUndecodableName(entries)) return { entries: entries.sort(byName), undecodable: [] };
  // Only a folder with a U+FFFD in a name is listed again, as bytes, to tell which are real.
  const raw = await readdir(path, { withFileTypes: true, encoding: 'buffer' });
  const kept: Dirent[] = [];
  const undecodable: string[] = [];
  for (const entry of raw) {
    const name = entry.name.toString('utf8');
    if (Buffer.from(name, 'utf8').equals(entry.name)) {
      // The same Dirent (its type), with the name as text, as a listing by name gives it.
      (entry as unknown as { name: string }).name = name;
      kept.push(entry as unknown as Dirent);
    } else undecodable.push(escapeName(entry.name));
  }
  return { entries: kept.sort(byName), undecodable };
}

/** Whether a listing decoded as UTF-8 may hold names that were not (U+FFFD in their place). */
export function hasUndecodableName(entries: readonly { readonly name: string }[]): boolean {
  return entries.some((entry) => entry.name.includes('\uFFFD'));
}

/** A name's bytes as text: printable ASCII as is, every other byte as `\xNN`. */
export function escapeName(name: Buffer): string {
  let text = '';
  for (const byte of name) {
    text +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return text;
}

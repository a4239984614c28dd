/**
 * Paths of a folder's entries, for the walks over large trees.
 * @module
 */
import { sep } from 'node:path';

/**
 * `join(folder, name)` for a name from the folder's listing (never a separator, `.` or `..`)
 * and a folder path that is already normal (absolute, no trailing separator but the root's):
 * the same string without `join`'s normalising pass, which cost 17 ms of an unchanged
 * re-backup of 20,000 entries.
 */
export function childPath(folder: string, name: string): string {
  return folder.endsWith(sep) ? folder + name : folder + sep + name;
}

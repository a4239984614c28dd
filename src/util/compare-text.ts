/**
 * Orders strings by UTF-16 code units, as `Array.prototype.sort` does by default: the order of
 * hex ids and ISO-8601 timestamps. `String.prototype.localeCompare` gives them the same order,
 * but its first call loads ICU's collation data: 8-12 ms of every command that lists backups or
 * key files, on the way to its first byte of work.
 * @module
 */

/** Negative, zero or positive as `a` sorts before, with or after `b` (a comparator for `sort`). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

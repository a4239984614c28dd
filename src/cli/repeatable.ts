/**
 * Commander's collector for an option given once per value (`--exclude A --exclude B`). hbr
 * has no variadic options (`--exclude <glob...>`): one takes every word after it up to the next
 * option, so `hbr backup --exclude cache/ /srv` took `/srv` for a second pattern and backed up
 * nothing.
 * @module
 */

/** Adds `value` to the values given before. */
export function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

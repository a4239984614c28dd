/**
 * Commander's collector for an option given once per value (`--exclude A --exclude B`). hbr
 * has no variadic options (`--exclude <glob...>`): one takes every word after it up to the next
 * option, so `hbr backup --exclude cache/ /srv` took `/srv` for a second pattern and backed up
 * nothing.
 * @module
 */
import { InvalidArgumentError } from '@commander-js/extra-typings';

/**
 * Adds `value` to the values given before. An empty one is refused: it is what a script's unset
 * variable gives (`--path "$DIR"`), and it would mean the current folder or match nothing.
 */
export function collect(value: string, previous: readonly string[]): string[] {
  if (value === '') throw new InvalidArgumentError('it is empty');
  return [...previous, value];
}

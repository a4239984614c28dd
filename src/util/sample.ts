/**
 * A count of things and the first few of them: what a message names where there may be
 * thousands (files a restore would overwrite, temporary files left in its target), without
 * keeping them all.
 * @module
 */
import { printable } from './printable.ts';

/** How many items a sample keeps. */
export const SAMPLE_SIZE = 5;

/** How many items were added, and the first {@link SAMPLE_SIZE} of them in the order added. */
export interface Sample {
  count: number;
  readonly first: string[];
}

/** A sample of nothing yet. */
export function emptySample(): Sample {
  return { count: 0, first: [] };
}

/** Counts `item`, and keeps it while the sample holds fewer than {@link SAMPLE_SIZE}. */
export function addToSample(sample: Sample, item: string): void {
  sample.count++;
  if (sample.first.length < SAMPLE_SIZE) sample.first.push(item);
}

/**
 * The items kept, joined by `separator`, ending in `…` when more were counted. Each is
 * {@link printable}: the items are paths, and one holding a newline would split the message.
 */
export function sampleText(sample: Readonly<Sample>, separator = ', '): string {
  const more = sample.count > sample.first.length ? `${separator}…` : '';
  return `${sample.first.map(printable).join(separator)}${more}`;
}

/** A sample whose items each come with a reason (an error code): the reasons seen, once each. */
export interface CodedSample extends Sample {
  readonly codes: string[];
}

/** A coded sample of nothing yet. */
export function emptyCodedSample(): CodedSample {
  return { ...emptySample(), codes: [] };
}

/** Counts `item` as {@link addToSample} does, and notes `code` if it is new. */
export function addToCodedSample(sample: CodedSample, item: string, code: string): void {
  if (!sample.codes.includes(code)) sample.codes.push(code);
  addToSample(sample, item);
}

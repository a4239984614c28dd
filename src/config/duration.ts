/**
 * Durations as written in the config and on the command line (`7d`, `12h`, `1y6mo`), used by
 * keep rules (`keepWithin`, `--keep-within`) and alert thresholds.
 * @module
 */
import { UsageError } from '../errors.ts';

/** The parts of a duration; calendar units (years, months) are kept apart from fixed ones. */
export interface DurationParts {
  readonly years: number;
  readonly months: number;
  /** Weeks, days, hours, minutes and seconds, summed in milliseconds. */
  readonly ms: number;
}

/** The longest duration taken: dates stay far inside what a `Date` holds (±273,790 years). */
const MAX_YEARS = 10_000;
const PATTERN = /^(\d+(y|mo|w|d|h|m|s))+$/;
const UNIT_MS: Record<string, number> = {
  w: 604_800_000,
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
};

/** Whether `text` is a duration such as `7d`, `12h`, `1y6mo` or `90m`. */
export function isDuration(text: string): boolean {
  return PATTERN.test(text);
}

/**
 * Parses a duration: number+unit pairs with units `y`, `mo` (month), `w`, `d`, `h`, `m`
 * (minute), `s`.
 *
 * @throws {UsageError} when `text` is not a duration.
 */
export function parseDuration(text: string): DurationParts {
  if (!isDuration(text)) {
    throw new UsageError(
      `"${text}" is not a duration such as 7d, 12h or 1y6mo (units y, mo, w, d, h, m, s)`,
    );
  }
  let years = 0;
  let months = 0;
  let ms = 0;
  for (const [, digits, unit] of text.matchAll(/(\d+)(y|mo|w|d|h|m|s)/g)) {
    const n = Number(digits);
    if (unit === 'y') years += n;
    else if (unit === 'mo') months += n;
    else ms += n * (UNIT_MS[unit ?? 's'] ?? 0);
  }
  // Past this, a date shifted by it is no date at all, and a rule meant to keep everything
  // would keep nothing.
  if (years + months / 12 + ms / (365.25 * 86_400_000) > MAX_YEARS) {
    throw new UsageError(`"${text}" is longer than ${MAX_YEARS} years`);
  }
  return { years, months, ms };
}

/**
 * The moment `duration` before `date`, counting years and months on the UTC calendar (one month
 * before 31 March is 28 or 29 February, as restic's --keep-within does).
 */
export function subtractDuration(date: Date, duration: DurationParts): Date {
  return _shift(date, duration, -1);
}

/** The moment `duration` after `date` (retention periods: `retainFor: 90d`). */
export function addDuration(date: Date, duration: DurationParts): Date {
  return _shift(date, duration, 1);
}

// --- internal ---

function _shift(date: Date, duration: DurationParts, sign: 1 | -1): Date {
  const result = new Date(date.getTime());
  if (duration.years !== 0 || duration.months !== 0) {
    const day = result.getUTCDate();
    result.setUTCDate(1);
    result.setUTCMonth(result.getUTCMonth() + sign * (duration.months + 12 * duration.years));
    const lastDay = new Date(
      Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0),
    ).getUTCDate();
    result.setUTCDate(Math.min(day, lastDay));
  }
  return new Date(result.getTime() + sign * duration.ms);
}

/**
 * Keep rules for `hbr forget`, with restic's semantics: backups are taken newest first; each
 * `--keep-<period> N` keeps the newest backup of each of the N most recent periods that have one;
 * `--keep-within D` keeps every backup less than D older than the newest. A backup is kept if
 * any rule keeps it. Periods are UTC calendar periods (ISO weeks).
 * @module
 */
import { parseDuration, subtractDuration } from '../config/duration.ts';

/** The rules; an absent rule keeps nothing by itself. */
export interface KeepRules {
  readonly last?: number;
  readonly hourly?: number;
  readonly daily?: number;
  readonly weekly?: number;
  readonly monthly?: number;
  readonly yearly?: number;
  /** A duration such as `36h`, `7d`, `2w`, `6mo`, `1y`, or combinations like `1y6mo`. */
  readonly within?: string;
}

/** A decision about one backup, with the rules that kept it. */
export interface KeepDecision<T> {
  readonly item: T;
  readonly keep: boolean;
  readonly reasons: readonly string[];
}

/**
 * Whether any rule keeps something (forget without one would remove everything: refused). A
 * count of 0 keeps nothing, as in restic: `--keep-daily 0` alone is no rule.
 */
export function hasRules(rules: KeepRules): boolean {
  const { within, ...counts } = rules;
  return within !== undefined || Object.values(counts).some((n) => n !== undefined && n > 0);
}

/**
 * Whether any rule is given at all, one that keeps nothing (a count of 0) included: rules given
 * that keep nothing are refused, never taken as none given (then the config's `retention:` would
 * apply in their place).
 */
export function givesRules(rules: KeepRules): boolean {
  return Object.values(rules).some((value) => value !== undefined);
}

/**
 * Applies keep rules to backups of one group (one source). `time` gives each backup's time.
 * @throws UsageError on a malformed `within` duration.
 */
export function applyKeepRules<T>(
  items: readonly T[],
  time: (item: T) => Date,
  rules: KeepRules,
): KeepDecision<T>[] {
  const sorted = [...items].sort((a, b) => time(b).getTime() - time(a).getTime());
  const reasons = new Map<T, string[]>(sorted.map((i) => [i, []]));
  const add = (item: T, reason: string): void => void reasons.get(item)?.push(reason);

  sorted.slice(0, rules.last ?? 0).forEach((i) => add(i, 'last'));
  const buckets: [keyof KeepRules, (d: Date) => string][] = [
    ['hourly', (d) => d.toISOString().slice(0, 13)],
    ['daily', (d) => d.toISOString().slice(0, 10)],
    ['weekly', _isoWeek],
    ['monthly', (d) => d.toISOString().slice(0, 7)],
    ['yearly', (d) => d.toISOString().slice(0, 4)],
  ];
  for (const [rule, bucketOf] of buckets) {
    let left = (rules[rule] as number | undefined) ?? 0;
    let lastBucket: string | undefined;
    for (const item of sorted) {
      if (left <= 0) break;
      const bucket = bucketOf(time(item));
      if (bucket !== lastBucket) {
        add(item, rule);
        lastBucket = bucket;
        left--;
      }
    }
  }
  if (rules.within !== undefined && sorted[0]) {
    const newest = time(sorted[0]);
    const cutoff = subtractDuration(newest, parseDuration(rules.within));
    for (const item of sorted) if (time(item) >= cutoff) add(item, 'within');
  }
  return sorted.map((item) => {
    const r = reasons.get(item) ?? [];
    return { item, keep: r.length > 0, reasons: r };
  });
}

// --- internal ---

function _isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day); // Thursday of this ISO week decides its year
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${week}`;
}

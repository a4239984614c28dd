/**
 * The targets of issue 3 and their evaluation: each ratio is hbr / anchor for a pair of runs
 * (same cache mode, same run number); a target is met when the median of those ratios is
 * within its bound. A throughput target against restic that is not met is shown impossible on
 * this machine when `bench/micro/ceiling.ts` found even the format's ceiling below it, and no
 * ratio of hbr's, in any run, warm or cold, is higher than that ceiling (were one higher, the
 * ceiling would be no bound).
 * @module
 */
import type { CacheMode, RunResult, StepName } from './sequence.ts';
import { maxRss, median, stepOf, throughput, v2Growth } from './stats.ts';

/** One target, evaluated in one cache mode. */
export interface TargetResult {
  readonly text: string;
  readonly cache: CacheMode | 'both';
  /** Per-pair ratios (hbr / anchor), or the measured values of absolute targets. */
  readonly values: readonly number[];
  readonly value: number;
  /** `undefined` when hbr (or the anchor) was not measured. */
  readonly met: boolean | undefined;
  /** Set when not met and proven out of reach: the ceiling's ratio to the anchor. */
  readonly impossibleAt?: number;
}

/**
 * What `bench/micro/ceiling.ts` found: per command, the median over its rounds of the ratio of
 * the format's ceiling on this machine to restic's throughput.
 */
export interface CeilingRatios {
  readonly backup: number;
  readonly restore: number;
  readonly check: number;
}

type Metric = (run: RunResult) => number | undefined;

const wall =
  (step: StepName): Metric =>
  (run) =>
    stepOf(run, step)?.wallSeconds;
const speed =
  (step: StepName): Metric =>
  (run) => {
    const s = stepOf(run, step);
    // A restore that did not give back the source's bytes has no throughput worth comparing.
    return s && !(step === 'restore' && run.restoreVerified === false) ? throughput(s) : undefined;
  };

const RATIO_TARGETS = [
  {
    text: 'first backup throughput ≥ 1.5 × restic',
    anchor: 'restic',
    metric: speed('backup-1'),
    atLeast: 1.5,
    ceiling: 'backup',
  },
  {
    text: 'first backup throughput ≥ 1.5 × borg (zstd 3)',
    anchor: 'borg-zstd3',
    metric: speed('backup-1'),
    atLeast: 1.5,
  },
  {
    text: 're-backup, nothing changed: wall ≤ 0.5 × restic',
    anchor: 'restic',
    metric: wall('backup-unchanged'),
    atMost: 0.5,
  },
  {
    text: 'version-2 backup: wall ≤ 0.6 × restic',
    anchor: 'restic',
    metric: wall('backup-2'),
    atMost: 0.6,
  },
  {
    text: 'version-2 backup: repository growth ≤ restic',
    anchor: 'restic',
    metric: v2Growth,
    atMost: 1,
  },
  {
    text: 'full restore throughput ≥ 1.5 × restic',
    anchor: 'restic',
    metric: speed('restore'),
    atLeast: 1.5,
    ceiling: 'restore',
  },
  {
    text: 'check with full data read: throughput ≥ 2 × restic',
    anchor: 'restic',
    metric: speed('check'),
    atLeast: 2,
    ceiling: 'check',
  },
] as const;

/**
 * Peak RSS ceiling, and the growth allowed between the two scales for "flat". The "256 MB"
 * is read as it writes its data sizes (400 MB models are 400,000,000 bytes) and as this report
 * prints every size: 256,000,000 bytes, the stricter reading (256 MiB would be 268.4 MB).
 */
export const RSS_LIMIT_BYTES = 256e6;
export const RSS_FLAT_FACTOR = 1.25;

/**
 * Evaluates every target from the runs at `scale` (and `rssScale` for memory flatness), with the
 * ceiling's ratios where they were measured.
 */
export function evaluateTargets(
  runs: readonly RunResult[],
  scale: number,
  rssScale: number | undefined,
  ceiling?: CeilingRatios,
): TargetResult[] {
  const at = (tool: string, cache: CacheMode, s: number): RunResult[] =>
    runs.filter((r) => r.tool === tool && r.cache === cache && r.scale === s);
  const modes = [...new Set(runs.map((r) => r.cache))];
  const results: TargetResult[] = [];
  for (const target of RATIO_TARGETS) {
    const ratios = new Map(
      modes.map((cache) => {
        const anchors = at(target.anchor, cache, scale);
        const values = at('hbr', cache, scale).flatMap((run) => {
          const anchor = anchors.find((a) => a.run === run.run);
          const mine = target.metric(run);
          const theirs = anchor && target.metric(anchor);
          return mine !== undefined && theirs !== undefined && theirs > 0 ? [mine / theirs] : [];
        });
        return [cache, values];
      }),
    );
    const reachable = 'ceiling' in target && ceiling ? ceiling[target.ceiling] : undefined;
    // A ceiling that one of hbr's runs beat, warm or cold, bounds nothing.
    const beaten =
      reachable !== undefined && [...ratios.values()].flat().some((r) => r > reachable);
    for (const [cache, values] of ratios) {
      const value = median(values);
      const bound = 'atLeast' in target ? value >= target.atLeast : value <= target.atMost;
      const impossible =
        values.length > 0 &&
        !bound &&
        'atLeast' in target &&
        reachable !== undefined &&
        reachable < target.atLeast &&
        !beaten;
      results.push({
        text: target.text,
        cache,
        values,
        value,
        met: values.length ? bound : undefined,
        ...(impossible ? { impossibleAt: reachable } : {}),
      });
    }
  }
  const hbrRss = (s: number): number[] =>
    runs.filter((r) => r.tool === 'hbr' && r.scale === s).flatMap((r) => maxRss(r) ?? []);
  const peaks = hbrRss(scale);
  const peak = peaks.length ? Math.max(...peaks) : Number.NaN;
  results.push({
    text: 'peak RSS ≤ 256 MB (largest over all steps and runs)',
    cache: 'both',
    values: peaks,
    value: peak,
    met: peaks.length ? peak <= RSS_LIMIT_BYTES : undefined,
  });
  const small = rssScale === undefined ? [] : hbrRss(rssScale);
  const growth = median(peaks) / median(small);
  results.push({
    text: `peak RSS flat: at scale ${scale} ≤ ${RSS_FLAT_FACTOR} × at scale ${rssScale ?? '—'}`,
    cache: 'both',
    values: [median(small), median(peaks)],
    value: growth,
    met: small.length && peaks.length ? growth <= RSS_FLAT_FACTOR : undefined,
  });
  return results;
}

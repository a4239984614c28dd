/**
 * Medians over runs and the per-run figures the targets compare.
 * @module
 */
import type { CacheMode, RunResult, StepName, StepResult } from './sequence.ts';

/** Median of the numbers (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Medians of one step of one tool over its runs. */
export interface StepMedian {
  readonly tool: string;
  readonly cache: CacheMode;
  readonly scale: number;
  readonly step: StepName;
  readonly runs: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  readonly repoBytes: number;
  /** Data set bytes per wall second, in MB/s (10^6). */
  readonly throughputMBps: number;
  /** CPU seconds other processes took during the step, per wall second (1 = one core). */
  readonly othersCores: number;
}

/** Throughput of a step in MB/s (data set bytes per wall second). */
export const throughput = (s: StepResult): number => s.dataBytes / 1e6 / s.wallSeconds;

/** Groups the runs by tool, cache mode, scale and step, and takes medians. */
export function stepMedians(runs: readonly RunResult[]): StepMedian[] {
  const groups = new Map<string, { run: RunResult; step: StepResult }[]>();
  for (const run of runs) {
    for (const step of run.steps) {
      const key = JSON.stringify([run.tool, run.cache, run.scale, step.step]);
      groups.set(key, [...(groups.get(key) ?? []), { run, step }]);
    }
  }
  return [...groups.values()].map((group) => {
    const { run, step } = group[0] as { run: RunResult; step: StepResult };
    const of = (pick: (s: StepResult) => number): number => median(group.map((g) => pick(g.step)));
    return {
      tool: run.tool,
      cache: run.cache,
      scale: run.scale,
      step: step.step,
      runs: group.length,
      wallSeconds: of((s) => s.wallSeconds),
      cpuSeconds: of((s) => s.userSeconds + s.systemSeconds),
      peakRssBytes: of((s) => s.peakRssBytes),
      repoBytes: of((s) => s.repoBytes),
      throughputMBps: of(throughput),
      othersCores: of((s) => s.othersCpuSeconds / s.wallSeconds),
    };
  });
}

/** The step of a run, if it was reached. */
export const stepOf = (run: RunResult, name: StepName): StepResult | undefined =>
  run.steps.find((s) => s.step === name);

/** Repository growth of the version-2 backup, in bytes. */
export function v2Growth(run: RunResult): number | undefined {
  const before = stepOf(run, 'backup-unchanged');
  const after = stepOf(run, 'backup-2');
  return before && after ? after.repoBytes - before.repoBytes : undefined;
}

/** Largest peak RSS over the run's steps. */
export function maxRss(run: RunResult): number | undefined {
  return run.steps.length === 0 ? undefined : Math.max(...run.steps.map((s) => s.peakRssBytes));
}

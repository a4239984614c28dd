/**
 * One run of one tool: init, first backup, unchanged re-backup, version-2 backup, full
 * restore (verified against the source) and check, each measured, with the page cache
 * dropped (cold) or primed (warm) before each step.
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetSpec } from './data/spec.ts';
import { diffTrees, summarizeTree, type TreeSummary } from './data/tree.ts';
import { applyVersion } from './generate.ts';
import { measure, type Measurement } from './measure.ts';
import { retire } from './retire.ts';
import { diskUsage, dropCaches, machineBusySeconds, syncDisks, warmTree } from './system.ts';
import type { ToolAdapter, ToolContext } from './tools/index.ts';

/** The measured steps, in order. */
export const STEPS = [
  'init',
  'backup-1',
  'backup-unchanged',
  'backup-2',
  'restore',
  'check',
] as const;
export type StepName = (typeof STEPS)[number];
export type CacheMode = 'warm' | 'cold';

/** One measured step. */
export interface StepResult extends Measurement {
  readonly step: StepName;
  /** Repository size after the step (`du -sb`). */
  readonly repoBytes: number;
  /** Bytes of the data set the step is about (version 1 or 2), for throughput. */
  readonly dataBytes: number;
  /** CPU seconds other processes used during the step (contention skews wall times). */
  readonly othersCpuSeconds: number;
}

/** One run of one tool. */
export interface RunResult {
  readonly tool: string;
  readonly cache: CacheMode;
  readonly scale: number;
  readonly run: number;
  readonly steps: StepResult[];
  /** Whether the restored tree had exactly the source's bytes (undefined: not reached). */
  restoreVerified?: boolean;
  /** Why the run stopped early. */
  error?: string;
}

/** The data set a run works on; the tree at `root` must be at version 1. */
export interface DatasetHandle {
  readonly root: string;
  readonly spec: DatasetSpec;
  readonly v1: TreeSummary;
  /** Version 2 with digests, to verify restores. */
  readonly v2: TreeSummary;
}

/** Everything {@link runSequence} needs. */
export interface SequenceOptions {
  readonly tool: ToolAdapter;
  readonly ctx: ToolContext;
  readonly dataset: DatasetHandle;
  readonly restoreDir: string;
  /** Where the repository, cache and restore go when done with (see `retire.ts`). */
  readonly retired: string;
  readonly logDir: string;
  readonly cache: CacheMode;
  readonly run: number;
  /** Niceness of the measured commands (see `measure`). */
  readonly nice: number;
  readonly onStep: (result: StepResult) => void;
  readonly signal: AbortSignal;
}

/**
 * Runs the steps for one tool and returns what was measured. A failing step ends the run
 * (recorded in `error`), except an abort, which is thrown. Leaves the data set at version 1
 * and retires the repository, the restore and the cache.
 */
export async function runSequence(options: SequenceOptions): Promise<RunResult> {
  const { tool, ctx, dataset, cache, signal } = options;
  const result: RunResult = {
    tool: tool.id,
    cache,
    scale: dataset.spec.scale,
    run: options.run,
    steps: [],
  };
  const prefix = join(options.logDir, `${cache}-${dataset.spec.scale}-${options.run}-${tool.id}`);
  const step = async (
    name: StepName,
    dataBytes: number,
    command: Parameters<typeof measure>[0],
  ) => {
    await syncDisks();
    if (cache === 'cold') await dropCaches();
    else if (name === 'backup-1') await warmTree(dataset.root);
    const busyBefore = await machineBusySeconds();
    const measured = await measure(command, `${prefix}-${name}.log`, signal, options.nice);
    const busy = (await machineBusySeconds()) - busyBefore;
    const othersCpuSeconds = Math.max(0, busy - measured.userSeconds - measured.systemSeconds);
    const repoBytes = await diskUsage(ctx.repo);
    const done = { step: name, ...measured, repoBytes, dataBytes, othersCpuSeconds };
    result.steps.push(done);
    options.onStep(done);
  };
  let mutated = false;
  await cleanUp(ctx, options);
  await mkdir(ctx.cache, { recursive: true });
  try {
    const init = tool.init(ctx);
    if (init !== undefined) await step('init', 0, init);
    await step('backup-1', dataset.v1.bytes, tool.backup(ctx, dataset.root, 'v1'));
    await step('backup-unchanged', dataset.v1.bytes, tool.backup(ctx, dataset.root, 'v1-again'));
    mutated = true;
    await applyVersion(dataset.root, dataset.spec, 2);
    await step('backup-2', dataset.v2.bytes, tool.backup(ctx, dataset.root, 'v2'));
    await mkdir(options.restoreDir, { recursive: true });
    await step('restore', dataset.v2.bytes, tool.restore(ctx, options.restoreDir));
    const restored = await summarizeTree(
      await tool.restoredRoot(options.restoreDir, dataset.root),
      true,
    );
    result.restoreVerified = diffTrees(restored, dataset.v2).length === 0;
    await retire(options.restoreDir, options.retired);
    await step('check', dataset.v2.bytes, tool.check(ctx));
  } catch (error) {
    if (signal.aborted) throw error;
    result.error = error instanceof Error ? error.message : String(error);
  } finally {
    if (mutated) await applyVersion(dataset.root, dataset.spec, 1);
    await cleanUp(ctx, options);
  }
  return result;
}

// --- internal ---

async function cleanUp(ctx: ToolContext, options: SequenceOptions): Promise<void> {
  for (const dir of [ctx.repo, ctx.cache, options.restoreDir]) await retire(dir, options.retired);
}

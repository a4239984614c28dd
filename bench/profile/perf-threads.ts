/**
 * Where a command's CPU time goes, by kind of thread: the main thread, the codec workers, libuv's
 * pool and V8's own threads (optimizing compiler, garbage collector), from a `perf record -g` of
 * the whole process. A backup or restore of the benchmark keeps both cores busy, so only less CPU
 * makes it faster, and which thread spends it decides what to try; `--cpu-prof` (summarize.ts)
 * sees one thread's JavaScript, not the kernel, native code or the other threads.
 *
 * ```sh
 * perf record -F 999 -g -o /tmp/p.data -- node --perf-basic-prof bin/hbr.js backup DIR --repo R --no-progress
 * node --import tsx bench/profile/perf-threads.ts /tmp/p.data [N]
 * ```
 *
 * Prints, per kind of thread, its CPU seconds (the samples' periods: `cpu-clock` counts
 * nanoseconds), the N functions it spent most in (self time), and where its kernel time came
 * from (the system call or fault each kernel sample was in).
 * @module
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** Kinds of thread, told apart by the bottom of their samples' stacks. */
export type ThreadKind = 'main' | 'codec workers' | 'libuv pool' | 'V8 platform' | 'other';

/** CPU seconds of one kind of thread. */
export interface ThreadTally {
  threads: number;
  seconds: number;
  /** Seconds by the function a sample was in. */
  readonly self: Map<string, number>;
  /** Seconds of kernel samples by their way in (system call, page fault, interrupt). */
  readonly kernel: Map<string, number>;
}

/**
 * Tallies the output of `perf script -F pid,tid,period,ip,sym` of a recording with call chains:
 * one block per sample, a `pid/tid period` line, then its stack from the innermost frame.
 */
export function tallyPerfScript(text: string): Map<ThreadKind, ThreadTally> {
  const samples = new Map<string, { seconds: number; self: string; entry?: string }[]>();
  const kinds = new Map<string, ThreadKind>();
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((line) => line.trim() !== '');
    const head = /^\s*(\d+)\/(\d+)\s+(\d+)/.exec(lines[0] ?? '');
    if (!head) continue;
    const [, pid, tid = '', period] = head;
    // Each frame is "address symbol"; a symbol may hold spaces.
    const frames = lines.slice(1).map((line) => line.trim().replace(/^\S+\s*/, ''));
    const kind = _kindOf(pid === tid, frames);
    // A thread's kind is what any of its samples showed: not every stack reaches its bottom.
    if (kind !== 'other') kinds.set(tid, kind);
    const entry = frames.map((f) => _KERNEL_ENTRY.exec(f)?.[1]).find(Boolean);
    const list = samples.get(tid) ?? [];
    list.push({
      seconds: Number(period) / 1e9,
      self: frames[0] ?? '?',
      ...(entry ? { entry } : {}),
    });
    samples.set(tid, list);
  }
  const tallies = new Map<ThreadKind, ThreadTally>();
  for (const [tid, list] of samples) {
    const kind = kinds.get(tid) ?? 'other';
    const tally = tallies.get(kind) ?? {
      threads: 0,
      seconds: 0,
      self: new Map(),
      kernel: new Map(),
    };
    tally.threads++;
    for (const { seconds, self, entry } of list) {
      tally.seconds += seconds;
      _add(tally.self, self, seconds);
      if (entry) _add(tally.kernel, entry, seconds);
    }
    tallies.set(kind, tally);
  }
  return tallies;
}

/** Prints {@link tallyPerfScript} of a recording, the `top` functions of each kind of thread. */
async function cli(): Promise<void> {
  const [file, top = '15'] = process.argv.slice(2);
  if (!file) {
    console.error('usage: perf-threads.ts PERF.DATA [N]');
    process.exit(2);
  }
  const { stdout } = await promisify(execFile)(
    'perf',
    ['script', '-i', file, '-F', 'pid,tid,period,ip,sym'],
    { maxBuffer: 1 << 30 },
  );
  const tallies = [...tallyPerfScript(stdout)].sort((a, b) => b[1].seconds - a[1].seconds);
  const total = tallies.reduce((sum, [, t]) => sum + t.seconds, 0);
  console.log(`${file}: ${total.toFixed(2)} s of CPU`);
  const line = (seconds: number, what: string): string =>
    `  ${seconds.toFixed(2).padStart(6)} s  ${what.slice(0, 100)}`;
  for (const [kind, tally] of tallies) {
    console.log(`\n## ${kind}: ${tally.seconds.toFixed(2)} s, ${tally.threads} thread(s)`);
    for (const [name, seconds] of _top(tally.self, Number(top))) console.log(line(seconds, name));
    const kernel = _top(tally.kernel, 8);
    if (kernel.length > 0) console.log('  kernel time by way in:');
    for (const [name, seconds] of kernel) console.log(line(seconds, name));
  }
}

// --- internal ---

/** A kernel sample's way in: a system call, a page fault, an interrupt. */
const _KERNEL_ENTRY = /(__x64_sys_\w+|asm_exc_page_fault|asm_sysvec_\w+|asm_common_interrupt)/;

function _kindOf(main: boolean, frames: readonly string[]): ThreadKind {
  if (main) return 'main';
  const stack = frames.join('\n');
  if (stack.includes('node::worker::Worker::Run')) return 'codec workers';
  if (stack.includes('uv__fs_work') || stack.includes('ThreadPoolWork')) return 'libuv pool';
  if (stack.includes('PlatformWorkerThread')) return 'V8 platform';
  return 'other';
}

function _add(counts: Map<string, number>, key: string, seconds: number): void {
  counts.set(key, (counts.get(key) ?? 0) + seconds);
}

function _top(counts: Map<string, number>, n: number): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n);
}

if (import.meta.url === `file://${process.argv[1]}`) await cli();

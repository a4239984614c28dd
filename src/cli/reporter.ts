/**
 * How commands tell the user what is happening. Commands talk to a {@link Reporter}; the
 * reporter decides how it looks: a live line on a terminal, occasional lines in a pipe or CI
 * log, or JSON lines for programs. stdout carries results only; progress, warnings and
 * errors go to stderr (except in JSON mode, where per-file errors are data on stdout).
 * @module
 */
import type { Writable } from 'node:stream';
import { createJsonReporter } from './reporter/json.ts';
import { createPlainReporter } from './reporter/plain.ts';
import type { ProgressTotals, ProgressUpdate } from './reporter/progress.ts';
import { createTtyReporter } from './reporter/tty.ts';

export type { ProgressTotals, ProgressUpdate } from './reporter/progress.ts';
export {
  formatBytes,
  formatClock,
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
} from './reporter/format.ts';

/**
 * The output of one command. Call order: `start`, any number of `progress`/`warn`/`fileError`,
 * then `summary` (long tasks) or `result` (one-shot commands), then `done`. `start` may be
 * called again to begin a next phase (backup, then verify). No method throws.
 */
export interface Reporter {
  /** Which implementation this is. */
  readonly mode: 'tty' | 'plain' | 'json';
  /** Per-file errors reported so far (a non-zero count usually means exit code 3, partial). */
  readonly fileErrors: number;
  /** Begins a task such as `backup` or `restore`; totals may be given later through `progress`. */
  start(task: string, totals?: ProgressTotals): void;
  /** The task's cumulative progress. Cheap to call often: output is rate-limited. */
  progress(update: ProgressUpdate): void;
  /** A note for humans (e.g. which repository is used); not shown in JSON mode. */
  info(message: string): void;
  /** Something the user should know that did not stop the task; `details` appear in JSON. */
  warn(message: string, details?: Record<string, unknown>): void;
  /** One file or object could not be processed; the task goes on. */
  fileError(path: string, error: unknown): void;
  /** The end of a long task: `data` as JSON (`messageType: summary`), or `humanLines` on stdout. */
  summary(data: Record<string, unknown>, humanLines: readonly string[]): void;
  /** The answer of a one-shot command: `data` as one JSON document, or `humanText` on stdout. */
  result(data: unknown, humanText: string): void;
  /** Ends the output: clears a live progress line. Safe to call twice. */
  done(): void;
}

/** Options of {@link createReporter}. */
export interface ReporterOptions {
  /** `--json`: JSON lines on stdout. */
  readonly json?: boolean | undefined;
  /** `false` for `--no-progress`: no progress output at all (warnings and results still print). @default true */
  readonly progress?: boolean | undefined;
  /** Whether stderr is a terminal. */
  readonly isTTY: boolean;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** For NO_COLOR, FORCE_COLOR and TERM. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Milliseconds clock. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** Terminal width. @default stderr.columns at each redraw, else 80 */
  readonly columns?: number | undefined;
  /** Milliseconds between progress lines in plain mode. @default 10000 */
  readonly plainIntervalMs?: number | undefined;
}

/**
 * Picks the reporter for the situation: JSON with `--json`; a live terminal line when stderr is
 * a terminal, progress is on and `TERM` is not `dumb`; otherwise plain lines.
 * Colour is used on a terminal unless `NO_COLOR` is set or `TERM=dumb`; `FORCE_COLOR` forces it.
 * @example
 * const reporter = createReporter({ json: opts.json, progress: opts.progress, ...ctx });
 * reporter.start('backup', { files: 120 });
 */
export function createReporter(options: ReporterOptions): Reporter {
  const { env, stdout, stderr } = options;
  const now = options.now ?? Date.now;
  const showProgress = options.progress !== false;
  if (options.json) return createJsonReporter({ stdout, stderr, now, showProgress });
  const dumb = env.TERM === 'dumb';
  const force =
    env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  const color = force || (options.isTTY && !dumb && !env.NO_COLOR);
  if (showProgress && options.isTTY && !dumb) {
    const fixed = options.columns;
    const columns = (): number => fixed ?? (stderr as { columns?: number }).columns ?? 80;
    return createTtyReporter({ stdout, stderr, now, color, columns });
  }
  return createPlainReporter({
    stdout,
    stderr,
    now,
    color,
    showProgress,
    intervalMs: options.plainIntervalMs ?? 10_000,
  });
}

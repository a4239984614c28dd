/**
 * State every reporter keeps about the running task, and the text helpers the human
 * reporters share.
 * @module
 */
import { printable, withoutControls } from '../../util/printable.ts';
import { isHbrError } from '../../errors.ts';
import { formatBytes, formatClock, formatCount, formatPercent, formatRate } from './format.ts';
import {
  snapshotOf,
  type ProgressSnapshot,
  type ProgressTotals,
  type ProgressUpdate,
} from './progress.ts';

/** The current task: its name, start time, totals and latest update. */
export interface TaskTracker {
  start(task: string, totals?: ProgressTotals): void;
  update(update: ProgressUpdate): void;
  snapshot(): ProgressSnapshot;
  readonly task: string;
}

/** A tracker reading time from `now`. Before `start`, the task is named `hbr`. */
export function createTaskTracker(now: () => number): TaskTracker {
  let task = 'hbr';
  let startedAt = now();
  let totals: ProgressTotals = {};
  let last: ProgressUpdate = { files: 0, bytes: 0 };
  return {
    get task() {
      return task;
    },
    start(name, newTotals = {}) {
      task = name;
      startedAt = now();
      totals = newTotals;
      last = { files: 0, bytes: 0 };
    },
    update(update) {
      last = update;
    },
    snapshot() {
      return snapshotOf(task, startedAt, now(), totals, last);
    },
  };
}

/** The message of any thrown value, and its code when it has one (HbrError code or errno). */
export function describeError(error: unknown): { message: string; code?: string } {
  const message = error instanceof Error ? error.message : String(error);
  const code = isHbrError(error)
    ? error.code
    : typeof (error as { code?: unknown } | null)?.code === 'string'
      ? (error as { code: string }).code
      : undefined;
  return code === undefined ? { message } : { message, code };
}

/**
 * One line of human progress, at most `width` characters:
 * `backup [1:05] 42.0% 1,234/2,730 files 1.2 GiB/2.7 GiB 95.3 MiB/s ETA 0:15 …/current/file`.
 */
export function progressLine(s: ProgressSnapshot, width: number): string {
  const parts = [`${s.task} [${formatClock(s.elapsedMs)}]`];
  if (s.fraction !== undefined) parts.push(formatPercent(s.fraction));
  parts.push(
    `${formatCount(s.files)}${s.totalFiles === undefined ? '' : `/${formatCount(s.totalFiles)}`} files`,
  );
  parts.push(
    `${formatBytes(s.bytes)}${s.totalBytes === undefined ? '' : `/${formatBytes(s.totalBytes)}`}`,
  );
  if (s.bytesPerSecond !== undefined) parts.push(formatRate(s.bytesPerSecond));
  if (s.remainingMs !== undefined) parts.push(`ETA ${formatClock(s.remainingMs)}`);
  const line = parts.join('  ');
  if (line.length >= width) return `${line.slice(0, Math.max(0, width - 1))}…`;
  const room = width - line.length - 2;
  if (s.currentPath === undefined || room < 8) return line;
  // The end of a path says more than its start.
  const shown = withoutControls(s.currentPath, { oneLine: true });
  const path = shown.length <= room ? shown : `…${shown.slice(-(room - 1))}`;
  return `${line}  ${path}`;
}

/** Wraps `text` in an ANSI colour when `enabled`. */
export function paint(enabled: boolean, color: 'red' | 'yellow' | 'dim', text: string): string {
  if (!enabled) return text;
  const codes = { red: [31, 39], yellow: [33, 39], dim: [2, 22] } as const;
  const [open, close] = codes[color];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

/**
 * The human reporters' lines of a message, a warning and a file that failed: one line each,
 * whatever names they quote (util/printable.ts), the path quoted as `hbr ls` quotes it.
 */
export const reportLine = {
  info: (message: string): string => withoutControls(message, { oneLine: true }),
  warning: (color: boolean, message: string): string =>
    `${paint(color, 'yellow', 'warning:')} ${reportLine.info(message)}`,
  fileError: (color: boolean, path: string, error: unknown): string =>
    `${paint(color, 'red', 'error:')} ${printable(path)}: ${reportLine.info(describeError(error).message)}`,
};

/** `text` with exactly one trailing newline (none added to empty text). */
export function asLine(text: string): string {
  if (text === '') return '';
  return text.endsWith('\n') ? text : `${text}\n`;
}

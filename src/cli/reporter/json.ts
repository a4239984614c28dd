/**
 * The `--json` reporter: JSON Lines on stdout with a `messageType` (`status`, `error`,
 * `summary`), after restic's format, keys in camelCase. Warnings go to stderr as JSON lines, so
 * stdout holds data only. The schema only grows by adding fields.
 * @module
 */
import type { Writable } from 'node:stream';
import type { Reporter } from '../reporter.ts';
import type { ProgressSnapshot } from './progress.ts';
import { createTaskTracker, describeError } from './task.ts';

/** At most two status lines a second: enough for a progress bar, little enough for a log. */
const STATUS_MS = 500;

/** Options of {@link createJsonReporter}. */
export interface JsonReporterOptions {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly now: () => number;
  /** Emit `status` lines; `false` for `--no-progress`. */
  readonly showProgress: boolean;
}

/** A reporter for programs reading stdout. */
export function createJsonReporter(options: JsonReporterOptions): Reporter {
  const { stdout, stderr, now, showProgress } = options;
  const tracker = createTaskTracker(now);
  let lastStatus = Number.NEGATIVE_INFINITY;
  let pending = false;
  let errors = 0;

  const line = (stream: Writable, value: unknown): void => {
    stream.write(`${JSON.stringify(value)}\n`);
  };
  const status = (): void => {
    line(stdout, statusMessage(tracker.snapshot()));
    lastStatus = now();
    pending = false;
  };
  // The last update before the end is worth a line even inside the rate limit.
  const flush = (): void => {
    if (pending) status();
  };

  return {
    mode: 'json',
    get fileErrors() {
      return errors;
    },
    start(task, totals) {
      flush();
      tracker.start(task, totals);
      lastStatus = Number.NEGATIVE_INFINITY;
    },
    progress(update) {
      tracker.update(update);
      if (!showProgress) return;
      pending = true;
      if (now() - lastStatus >= STATUS_MS) status();
    },
    info() {
      // Notes for humans have no place in machine output.
    },
    warn(message, details) {
      line(stderr, { messageType: 'warning', message, ...(details && { details }) });
    },
    fileError(path, error) {
      errors++;
      line(stdout, {
        messageType: 'error',
        error: describeError(error),
        during: tracker.task,
        item: path,
      });
    },
    summary(data) {
      flush();
      line(stdout, { messageType: 'summary', ...data });
    },
    result(data) {
      flush();
      line(stdout, data);
    },
    done() {
      flush();
    },
  };
}

// --- internal ---

function statusMessage(s: ProgressSnapshot): Record<string, unknown> {
  return {
    messageType: 'status',
    task: s.task,
    secondsElapsed: Math.round(s.elapsedMs) / 1000,
    percentDone: s.fraction,
    filesDone: s.files,
    bytesDone: s.bytes,
    totalFiles: s.totalFiles,
    totalBytes: s.totalBytes,
    bytesPerSecond: s.bytesPerSecond === undefined ? undefined : Math.round(s.bytesPerSecond),
    secondsRemaining: s.remainingMs === undefined ? undefined : Math.round(s.remainingMs / 1000),
    currentFiles: s.currentPath === undefined ? undefined : [s.currentPath],
  };
}

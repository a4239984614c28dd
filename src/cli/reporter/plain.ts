/**
 * The reporter for pipes, CI logs and `--no-progress`: whole lines only, a progress line every
 * `intervalMs`, nothing redrawn.
 * @module
 */
import type { Writable } from 'node:stream';
import type { Reporter } from '../reporter.ts';
import { formatBytes, formatCount } from './format.ts';
import { asLine, createTaskTracker, progressLine, reportLine } from './task.ts';

/** Options of {@link createPlainReporter}. */
export interface PlainReporterOptions {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly now: () => number;
  readonly color: boolean;
  /** Print start and progress lines; `false` for `--no-progress`. */
  readonly showProgress: boolean;
  /** Milliseconds between progress lines. */
  readonly intervalMs: number;
}

/** A reporter that writes occasional whole lines to stderr. */
export function createPlainReporter(options: PlainReporterOptions): Reporter {
  const { stdout, stderr, now, color, showProgress, intervalMs } = options;
  const tracker = createTaskTracker(now);
  let active = false;
  let lastLine = 0;
  let errors = 0;

  return {
    mode: 'plain',
    get fileErrors() {
      return errors;
    },
    start(task, totals) {
      tracker.start(task, totals);
      active = true;
      lastLine = now();
      if (!showProgress) return;
      const known = [
        totals?.files === undefined ? undefined : `${formatCount(totals.files)} files`,
        totals?.bytes === undefined ? undefined : formatBytes(totals.bytes),
      ].filter((part) => part !== undefined);
      stderr.write(`${task}: started${known.length > 0 ? ` (${known.join(', ')})` : ''}\n`);
    },
    progress(update) {
      tracker.update(update);
      if (!showProgress || !active || now() - lastLine < intervalMs) return;
      lastLine = now();
      // No current path: in a log, one stale file name per line is noise.
      const snapshot = { ...tracker.snapshot(), currentPath: undefined };
      stderr.write(`${progressLine(snapshot, Number.MAX_SAFE_INTEGER)}\n`);
    },
    info(message) {
      stderr.write(asLine(reportLine.info(message)));
    },
    warn(message) {
      stderr.write(asLine(reportLine.warning(color, message)));
    },
    fileError(path, error) {
      errors++;
      stderr.write(asLine(reportLine.fileError(color, path, error)));
    },
    summary(_data, humanLines) {
      active = false;
      stdout.write(humanLines.map(asLine).join(''));
    },
    result(_data, humanText) {
      active = false;
      stdout.write(asLine(humanText));
    },
    done() {
      active = false;
    },
  };
}

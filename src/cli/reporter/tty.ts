/**
 * The terminal reporter: one progress line on stderr, redrawn in place, that messages print
 * above. Results and summaries go to stdout after the line is cleared.
 * @module
 */
import type { Writable } from 'node:stream';
import type { Reporter } from '../reporter.ts';
import { asLine, createTaskTracker, progressLine, reportLine } from './task.ts';

/** Redraws at most this often: faster is flicker, not information. */
const REDRAW_MS = 100;
/** Moves to the start of the line and erases it. */
const CLEAR_LINE = '\r\u001b[2K';

/** Options of {@link createTtyReporter}. */
export interface TtyReporterOptions {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly now: () => number;
  readonly color: boolean;
  /** Terminal width, read at each redraw so a resize is followed; the line never wraps. */
  readonly columns: () => number;
}

/** A reporter for a human at a terminal. */
export function createTtyReporter(options: TtyReporterOptions): Reporter {
  const { stdout, stderr, now, color, columns } = options;
  const tracker = createTaskTracker(now);
  let active = false;
  let shown = false;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let errors = 0;

  const clear = (): void => {
    if (shown) stderr.write(CLEAR_LINE);
    shown = false;
  };
  const draw = (): void => {
    stderr.write(`${CLEAR_LINE}${progressLine(tracker.snapshot(), columns() - 1)}`);
    shown = true;
    lastDraw = now();
  };
  const say = (text: string): void => {
    const redraw = shown;
    clear();
    stderr.write(asLine(text));
    if (redraw) draw();
  };
  const finish = (): void => {
    clear();
    active = false;
  };

  return {
    mode: 'tty',
    get fileErrors() {
      return errors;
    },
    start(task, totals) {
      clear();
      tracker.start(task, totals);
      active = true;
      draw();
    },
    progress(update) {
      tracker.update(update);
      if (active && now() - lastDraw >= REDRAW_MS) draw();
    },
    info(message) {
      say(reportLine.info(message));
    },
    warn(message) {
      say(reportLine.warning(color, message));
    },
    fileError(path, error) {
      errors++;
      say(reportLine.fileError(color, path, error));
    },
    summary(_data, humanLines) {
      finish();
      stdout.write(humanLines.map(asLine).join(''));
    },
    result(_data, humanText) {
      finish();
      stdout.write(asLine(humanText));
    },
    done() {
      finish();
    },
  };
}

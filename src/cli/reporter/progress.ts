/**
 * Turns progress updates into what every reporter shows: elapsed time, fraction done, rate
 * and time remaining.
 * @module
 */

/** Totals known when a task starts (a file count after a scan, a database's size). */
export interface ProgressTotals {
  readonly files?: number | undefined;
  readonly bytes?: number | undefined;
}

/** Where a running task is. Counts are cumulative since `start`. */
export interface ProgressUpdate {
  readonly files: number;
  readonly bytes: number;
  /** Overrides the totals given to `start` (they may only be known part-way). */
  readonly totalFiles?: number | undefined;
  readonly totalBytes?: number | undefined;
  /** The file or object being worked on. */
  readonly currentPath?: string | undefined;
}

/** A computed view of a task's progress at one moment. */
export interface ProgressSnapshot {
  readonly task: string;
  readonly elapsedMs: number;
  readonly files: number;
  readonly bytes: number;
  readonly totalFiles: number | undefined;
  readonly totalBytes: number | undefined;
  readonly currentPath: string | undefined;
  /** 0–1, from bytes when the byte total is known, else from files; undefined without totals. */
  readonly fraction: number | undefined;
  /** Average since the start; undefined before any time has passed. */
  readonly bytesPerSecond: number | undefined;
  /** Undefined unless a total is known and some progress has been made. */
  readonly remainingMs: number | undefined;
}

/**
 * The progress of one task from `startedAt` on. Rate and ETA use the average since the start:
 * steadier than a moving window for the long, uniform streams backups mostly are.
 */
export function snapshotOf(
  task: string,
  startedAt: number,
  now: number,
  totals: ProgressTotals,
  update: ProgressUpdate,
): ProgressSnapshot {
  const elapsedMs = Math.max(0, now - startedAt);
  const totalFiles = update.totalFiles ?? totals.files;
  const totalBytes = update.totalBytes ?? totals.bytes;
  let fraction: number | undefined;
  if (totalBytes !== undefined && totalBytes > 0) fraction = Math.min(1, update.bytes / totalBytes);
  else if (totalFiles !== undefined && totalFiles > 0)
    fraction = Math.min(1, update.files / totalFiles);
  else if (totalBytes === 0 || totalFiles === 0) fraction = 1;
  const bytesPerSecond = elapsedMs > 0 ? (update.bytes * 1000) / elapsedMs : undefined;
  const remainingMs =
    fraction !== undefined && fraction > 0 && elapsedMs > 0
      ? (elapsedMs * (1 - fraction)) / fraction
      : undefined;
  return {
    task,
    elapsedMs,
    files: update.files,
    bytes: update.bytes,
    totalFiles,
    totalBytes,
    currentPath: update.currentPath,
    fraction,
    bytesPerSecond,
    remainingMs,
  };
}

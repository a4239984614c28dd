/**
 * Progress for statements that report none: SQL Server sends `WITH STATS` messages during
 * BACKUP and RESTORE, but not always (and not during RESTORE's redo and undo). This executor
 * decorator watches each statement that has an `onProgress` listener; when no STATS message has
 * arrived for `quietMs`, it opens a second session and polls `sys.dm_exec_requests` for the
 * first session's `percent_complete` until the statement ends.
 * @module
 */
import type { ExecOptions, SqlExecutor } from './executor.ts';
import { pollProgress } from './progress.ts';

/** Options of {@link withProgressFallback}. */
export interface ProgressFallbackOptions {
  /** Silence that starts polling. @default 10 s */
  readonly quietMs?: number;
  /** Between polls. @default 2 s */
  readonly intervalMs?: number;
  /** Reports a failure of the monitor session; progress is best-effort and never fails a statement. */
  readonly onMonitorError?: (error: unknown) => void;
}

/**
 * Wraps `exec` (one session) so long statements report progress by polling when STATS is silent.
 * `connectMonitor` opens the second session, only when it is first needed.
 */
export function withProgressFallback(
  exec: SqlExecutor,
  connectMonitor: () => Promise<SqlExecutor>,
  options: ProgressFallbackOptions = {},
): SqlExecutor {
  let monitor: Promise<SqlExecutor> | undefined;
  let sessionId: Promise<number> | undefined;
  const run = async (sql: string, opts: ExecOptions = {}): ReturnType<SqlExecutor['run']> => {
    const listener = opts.onProgress;
    if (!listener) return exec.run(sql, opts);
    // Asked before the statement, on the same session (the executor is a pool of one).
    sessionId ??= exec.query('SELECT @@SPID AS spid;').then(([row]) => Number(row?.spid));
    const spid = await sessionId;
    const done = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let polling: Promise<void> | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        polling = (async () => {
          monitor ??= connectMonitor();
          await pollProgress(
            await monitor,
            spid,
            (p) => listener(p.percent),
            done.signal,
            options.intervalMs,
          );
        })().catch((error: unknown) => options.onMonitorError?.(error));
      }, options.quietMs ?? 10_000);
    };
    arm();
    try {
      return await exec.run(sql, {
        ...opts,
        onProgress: (percent) => {
          if (!polling) arm(); // STATS is talking: keep the monitor asleep
          listener(percent);
        },
      });
    } finally {
      clearTimeout(timer);
      done.abort();
      await polling;
    }
  };
  return {
    run,
    query: (sql, opts = {}) => exec.query(sql, opts),
    async close() {
      await exec.close();
      if (monitor) await (await monitor).close();
    },
  };
}

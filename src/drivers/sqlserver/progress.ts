/**
 * Progress of a long statement by polling `sys.dm_exec_requests.percent_complete` from a second
 * session: the fallback when no STATS messages arrive (and the only signal during RESTORE's redo
 * and undo phases after "100 percent processed").
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SqlExecutor } from './executor.ts';

/** The DMV query for one session's running request. */
export function percentCompleteQuery(sessionId: number): string {
  if (!Number.isSafeInteger(sessionId) || sessionId <= 0)
    throw new RangeError(`not a session id: ${sessionId}`);
  return (
    'SELECT command, percent_complete, estimated_completion_time FROM sys.dm_exec_requests ' +
    `WHERE session_id = ${sessionId};`
  );
}

/** What one poll saw. */
export interface RequestProgress {
  readonly command: string;
  readonly percent: number;
  /** Milliseconds, as estimated by the server (0 when unknown). */
  readonly remainingMs: number;
}

/**
 * Polls `sessionId`'s request every `intervalMs` on `monitor` (a second session) and reports each
 * sample until `signal` aborts (abort it when the statement finishes). Resolves on abort.
 * @throws SourceError when a poll fails.
 */
export async function pollProgress(
  monitor: SqlExecutor,
  sessionId: number,
  onProgress: (progress: RequestProgress) => void,
  signal: AbortSignal,
  intervalMs = 2000,
): Promise<void> {
  const sql = percentCompleteQuery(sessionId);
  while (!signal.aborted) {
    const [row] = await monitor.query(sql);
    if (row && !signal.aborted) {
      onProgress({
        command: typeof row.command === 'string' ? row.command.trim() : '',
        percent: Number(row.percent_complete ?? 0),
        remainingMs: Number(row.estimated_completion_time ?? 0),
      });
    }
    await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
  }
}

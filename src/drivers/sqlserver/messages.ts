/**
 * SQL Server messages: STATS progress lines and the full story of a failed request (SQL Server
 * sends the real cause first and 3013 "… terminating abnormally" last; mssql surfaces the last and
 * keeps the others in `precedingErrors`).
 * @module
 */

/** An informational or error message as tedious reports it. */
export interface SqlMessage {
  readonly number: number;
  readonly class?: number;
  readonly state?: number;
  readonly message: string;
}

/** The percentage of a `WITH STATS` line ("10 percent processed."), or `null`. */
export function parseProgress(message: string): number | null {
  const m = /(\d{1,3}) percent processed/i.exec(message);
  return m ? Number(m[1]) : null;
}

/**
 * One line naming every server error of a failed request, real cause first:
 * `Msg 4305: The log in this backup set begins at LSN … | Msg 3013: RESTORE LOG is terminating abnormally.`
 */
export function describeSqlError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const all = [...((error as { precedingErrors?: unknown[] }).precedingErrors ?? []), error];
  return all
    .map((e) => {
      const { number, message } = e as { number?: number; message?: string };
      return number ? `Msg ${number}: ${message ?? ''}` : (message ?? String(e));
    })
    .join(' | ');
}

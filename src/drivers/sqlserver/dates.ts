/**
 * Date handling for SQL Server histories and targets: Microsoft JSON dates (`/Date(ms)/`), ISO 8601
 * without an offset read as UTC, and the server-local text T-SQL expects in `STOPAT`.
 * @module
 */

const MS_JSON = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Reads a date from a history file: `"/Date(1493883737000)/"` (milliseconds since the epoch; an
 * offset suffix is informational and ignored, as in .NET) or ISO 8601 (no offset means UTC).
 * @throws TypeError when the text is neither.
 */
export function parseHistoryDate(value: unknown): Date {
  if (typeof value !== 'string') throw new TypeError(`not a date: ${String(value)}`);
  const ms = MS_JSON.exec(value.trim());
  if (ms) return new Date(Number(ms[1]));
  return parseIsoInstant(value);
}

/**
 * Reads an ISO 8601 date or date-time. Without an offset it is UTC (never the local zone of the
 * machine running hbr). Fractions beyond milliseconds are truncated.
 * @throws TypeError on anything else, including impossible dates such as 2026-02-30 and offsets
 * beyond ±14:00 or with 60 minutes or more.
 */
export function parseIsoInstant(text: string): Date {
  const m = ISO.exec(text.trim());
  if (!m) throw new TypeError(`not an ISO 8601 time: ${JSON.stringify(text)}`);
  const part = (i: number): number => Number(m[i] ?? 0);
  const [year, month, day, hour, minute, second] = [
    part(1),
    part(2),
    part(3),
    part(4),
    part(5),
    part(6),
  ];
  const millis = Number(((m[7] ?? '') + '000').slice(0, 3));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(utc);
  const sameDay =
    check.getUTCFullYear() === year &&
    check.getUTCMonth() === month - 1 &&
    check.getUTCDate() === day;
  if (!sameDay || hour > 23 || minute > 59 || second > 59) {
    throw new TypeError(`not a valid time: ${JSON.stringify(text)}`);
  }
  const offset = offsetMinutes(m[8]);
  if (offset === null) throw new TypeError(`not a valid UTC offset: ${JSON.stringify(text)}`);
  return new Date(utc - offset * 60_000);
}

/**
 * The wall-clock text (`yyyy-mm-ddThh:mi:ss.mmm`) of an instant in a zone `offsetMinutes` east of
 * UTC: the language- and DATEFORMAT-independent form SQL Server reads for `STOPAT`, which it
 * interprets in the server's local time.
 */
export function formatServerLocal(instant: Date, offsetMinutes: number): string {
  return new Date(instant.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 23);
}

// --- internal ---

/** Minutes east of UTC; `null` for an offset no zone has (over ±14:00, minutes over 59). */
function offsetMinutes(text: string | undefined): number | null {
  if (text === undefined || text.toUpperCase() === 'Z') return 0;
  const digits = text.slice(1).replace(':', '');
  const [hours, mins] = [Number(digits.slice(0, 2)), Number(digits.slice(2) || '0')];
  const minutes = hours * 60 + mins;
  if (mins >= 60 || minutes > 14 * 60) return null;
  return text.startsWith('-') ? -minutes : minutes;
}

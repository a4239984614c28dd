/**
 * DBCC CHECKDB: the statement and the reading of its TABLERESULTS rows.
 * @module
 */
import * as f from './history-fields.ts';
import { quoteName } from './quote.ts';

/** Options of {@link buildCheckDb}. */
export interface CheckDbOptions {
  /** Faster, page-level checks only (skips column-value and logical checks). */
  readonly physicalOnly?: boolean;
  readonly maxDop?: number;
}

/** One message row of `DBCC CHECKDB … WITH TABLERESULTS`. */
export interface CheckDbMessage {
  readonly error: number;
  readonly level: number;
  readonly text: string;
  readonly objectId: number | null;
  readonly indexId: number | null;
  readonly repairLevel: string | null;
}

/** The verdict of one CHECKDB run. */
export interface CheckDbResult {
  /** True when no row reports an error (severity above 10) and the summary counts are zero. */
  readonly ok: boolean;
  readonly allocationErrors: number;
  readonly consistencyErrors: number;
  /** Rows with severity above 10 (corruption, 8900-range and 2570 errors). */
  readonly errors: readonly CheckDbMessage[];
  readonly messages: readonly CheckDbMessage[];
}

/**
 * `DBCC CHECKDB ([db]) WITH NO_INFOMSGS, ALL_ERRORMSGS, TABLERESULTS[, PHYSICAL_ONLY][, MAXDOP = n]`.
 * Never a REPAIR option: on corruption the answer is a restore.
 */
export function buildCheckDb(database: string, o: CheckDbOptions = {}): string {
  const opts = ['NO_INFOMSGS', 'ALL_ERRORMSGS', 'TABLERESULTS'];
  if (o.physicalOnly) opts.push('PHYSICAL_ONLY');
  if (o.maxDop !== undefined) opts.push(`MAXDOP = ${Math.max(0, Math.trunc(o.maxDop))}`);
  return `DBCC CHECKDB (${quoteName(database)}) WITH ${opts.join(', ')};`;
}

const SUMMARY = /CHECKDB found (\d+) allocation errors and (\d+) consistency errors/i;

/**
 * Reads TABLERESULTS rows (a clean database with NO_INFOMSGS returns none). Errors the server
 * raised instead of returning rows surface as a failed request in the executor, not here.
 */
export function parseCheckDbRows(rows: readonly Record<string, unknown>[]): CheckDbResult {
  const messages = rows.map((raw): CheckDbMessage => {
    const row = f.toRow(raw);
    return {
      error: f.intField(row, 'Error') ?? 0,
      level: f.intField(row, 'Level') ?? 0,
      text: f.textField(row, 'MessageText') ?? '',
      objectId: f.intField(row, 'ObjectId'),
      indexId: f.intField(row, 'IndexId'),
      repairLevel: f.textField(row, 'RepairLevel'),
    };
  });
  let allocationErrors = 0;
  let consistencyErrors = 0;
  for (const m of messages) {
    const summary = SUMMARY.exec(m.text);
    if (summary) {
      allocationErrors += Number(summary[1]);
      consistencyErrors += Number(summary[2]);
    }
  }
  const errors = messages.filter((m) => m.level > 10);
  return {
    ok: errors.length === 0 && allocationErrors === 0 && consistencyErrors === 0,
    allocationErrors,
    consistencyErrors,
    errors,
    messages,
  };
}

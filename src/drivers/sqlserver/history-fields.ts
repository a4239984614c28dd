/**
 * Readers for the loosely typed fields of backup-history rows (dbatools exports, msdb rows,
 * RESTORE HEADERONLY rows): case-insensitive names with aliases, lossless numbers, GUIDs, flags.
 * @module
 */
import { isLosslessNumber } from 'lossless-json';
import { parseHistoryDate } from './dates.ts';
import { parseLsn, type Lsn } from './lsn.ts';

/** A history row with its keys lower-cased, so `FirstLSN`, `FirstLsn` and `firstlsn` are one. */
export type Row = ReadonlyMap<string, unknown>;

/** Lower-cases the keys of a plain object. @throws TypeError when `value` is not an object. */
export function toRow(value: unknown): Row {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('not an object');
  }
  return new Map(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
}

/** The first present, non-null value among `names`, or `undefined`. */
export function pick(row: Row, ...names: string[]): unknown {
  for (const name of names) {
    const value = row.get(name.toLowerCase());
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

/** Reads an LSN; `null` when absent. @throws TypeError naming the field when malformed. */
export function lsnField(row: Row, ...names: string[]): Lsn | null {
  const value = pick(row, ...names);
  if (value === undefined) return null;
  try {
    return parseLsn(isLosslessNumber(value) ? value.toString() : value);
  } catch (error) {
    throw new TypeError(`${names[0]}: ${(error as Error).message}`, { cause: error });
  }
}

/** Reads a required LSN. @throws TypeError when absent or malformed. */
export function requiredLsn(row: Row, ...names: string[]): Lsn {
  const lsn = lsnField(row, ...names);
  if (lsn === null) throw new TypeError(`${names[0]} is missing`);
  return lsn;
}

/** Reads a GUID as lower-case text; `null` when absent or all zeros. */
export function guidField(row: Row, ...names: string[]): string | null {
  const value = pick(row, ...names);
  if (value === undefined) return null;
  if (typeof value !== 'string') throw new TypeError(`${names[0]}: not a GUID`);
  const guid = value
    .trim()
    .replace(/^\{|\}$/g, '')
    .toLowerCase();
  return /^[0-]+$/.test(guid) ? null : guid;
}

/** Reads a flag given as a boolean, 0/1, or "true"/"false"; `false` when absent. */
export function flagField(row: Row, ...names: string[]): boolean {
  const value = pick(row, ...names);
  if (value === undefined) return false;
  const text = scalarText(value).toLowerCase();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new TypeError(`${names[0]}: not a flag: ${text}`);
}

/** Reads a flag like {@link flagField}; `null` when absent (unknown, not false). */
export function optionalFlagField(row: Row, ...names: string[]): boolean | null {
  return pick(row, ...names) === undefined ? null : flagField(row, ...names);
}

/** Reads a date (`/Date(ms)/`, ISO 8601, or a `Date`). @throws TypeError when absent or malformed. */
export function dateField(row: Row, ...names: string[]): Date {
  const value = pick(row, ...names);
  if (value instanceof Date) return value;
  if (value === undefined) throw new TypeError(`${names[0]} is missing`);
  try {
    return parseHistoryDate(value);
  } catch (error) {
    throw new TypeError(`${names[0]}: ${(error as Error).message}`, { cause: error });
  }
}

/** Reads text; `null` when absent. */
export function textField(row: Row, ...names: string[]): string | null {
  const value = pick(row, ...names);
  return value === undefined ? null : scalarText(value);
}

/** Reads a small integer (Position, BackupType); `null` when absent or not an integer. */
export function intField(row: Row, ...names: string[]): number | null {
  const value = pick(row, ...names);
  if (value === undefined) return null;
  const n = Number(scalarText(value));
  return Number.isSafeInteger(n) ? n : null;
}

/** Reads a file list given as one string or an array of strings (stripes). */
export function filesField(row: Row, ...names: string[]): string[] {
  const value = pick(row, ...names);
  if (value === undefined) return [];
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  return list.filter((v): v is string => typeof v === 'string' && v !== '');
}

// --- internal ---

function scalarText(value: unknown): string {
  if (isLosslessNumber(value)) return value.toString();
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') {
    return String(value);
  }
  throw new TypeError(`not a scalar: ${JSON.stringify(value)}`);
}

/**
 * SQL Server log sequence numbers. An LSN is `numeric(25,0)` and exceeds 2^53 (even 2^64), so it
 * is a `bigint` in code and a decimal string on the wire, never a `number`.
 * @module
 */

/** A log sequence number. */
export type Lsn = bigint;

const DECIMAL = /^\d{1,25}$/;
// `0000001A:0000008F:0001` as printed by fn_dblog, DBCC PAGE and some error messages (hex parts).
const HEX_PARTS = /^([0-9a-f]{1,8}):([0-9a-f]{1,8}):([0-9a-f]{1,4})$/i;

/**
 * Reads an LSN from a decimal string, a `bigint`, or the hex `vlf:block:slot` form.
 * The decimal form is `vlf * 10^15 + block * 10^5 + slot`.
 * @throws TypeError when the value is not an LSN (a JS `number` is refused on purpose: it may
 * already have lost digits).
 */
export function parseLsn(value: unknown): Lsn {
  if (typeof value === 'bigint') {
    if (value < 0n) throw new TypeError(`not an LSN: ${value} is negative`);
    return value;
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (DECIMAL.test(text)) return BigInt(text);
    const parts = HEX_PARTS.exec(text);
    if (parts) return lsnFromParts(hex(parts[1]), hex(parts[2]), hex(parts[3]));
    throw new TypeError(`not an LSN: ${JSON.stringify(value)}`);
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new TypeError(`not an LSN: ${String(value)}`);
}

/** Builds the decimal LSN of a virtual log file number, log block offset and slot. */
export function lsnFromParts(vlf: bigint, block: bigint, slot: bigint): Lsn {
  return vlf * 10n ** 15n + block * 10n ** 5n + slot;
}

/** The decimal string of an LSN, as stored in JSON and passed to T-SQL (`STOPATMARK = 'lsn:…'`). */
export function formatLsn(lsn: Lsn): string {
  return lsn.toString(10);
}

/** Orders two LSNs for `Array.prototype.sort`. */
export function compareLsn(a: Lsn, b: Lsn): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// --- internal ---

function hex(text: string | undefined): bigint {
  return BigInt(`0x${text ?? '0'}`);
}

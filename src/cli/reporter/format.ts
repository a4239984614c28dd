/**
 * Human formats for sizes, rates, counts and durations, shared by every text output of hbr.
 * Deterministic (no locale or time zone from the machine) so output and tests are stable.
 *
 * Numbers are written out here rather than by `toLocaleString` or `pretty-bytes` (which uses
 * it): the first use of `Intl.NumberFormat` in a process loads ICU's data, 14-30 ms at the end
 * of every command that prints a size, 2-3 % of an unchanged re-backup. The output is
 * pretty-bytes' own: the scaled value cut (`roundingMode: 'trunc'`) to the fraction digits
 * asked for, en-US (the tests compare).
 * @module
 */

/** Binary units, 1024 apart. */
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] as const;

/** A byte count in binary units, as restic and most backup tools print them: `1.46 GiB`. */
export function formatBytes(bytes: number): string {
  return _binary(bytes, 2);
}

/** A transfer rate: `95.3 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${_binary(bytesPerSecond, 1)}/s`;
}

/** A count (a whole number) with thousands separators: `12,345`. */
export function formatCount(count: number): string {
  return _decimal(count, 0);
}

/**
 * A duration in words for summaries: `350 ms`, `12.3 s`, `4m 05s`, `2h 03m`, `3d 04h`.
 * Negative or non-finite values print as `0 ms`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0 ms';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 59.95) return `${seconds.toFixed(1)} s`;
  const total = Math.round(seconds);
  const [d, h, m, s] = [
    Math.floor(total / 86400),
    Math.floor(total / 3600) % 24,
    Math.floor(total / 60) % 60,
    total % 60,
  ];
  if (d > 0) return `${d}d ${pad(h)}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  return `${m}m ${pad(s)}s`;
}

/** A duration as a clock for progress lines and ETAs: `0:07`, `12:34`, `1:02:03`. */
export function formatClock(ms: number): string {
  const total = Number.isFinite(ms) && ms > 0 ? Math.round(ms / 1000) : 0;
  const [h, m, s] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** A fraction as a percentage with one decimal: `42.0%`. */
export function formatPercent(fraction: number): string {
  return `${(Math.min(Math.max(fraction, 0), 1) * 100).toFixed(1)}%`;
}

// --- internal ---

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `value` scaled to the largest binary unit it reaches, cut to at most `fractionDigits`. */
function _binary(value: number, fractionDigits: number): string {
  if (!Number.isFinite(value)) return String(value);
  let scaled = Math.abs(value);
  let unit = 0;
  while (scaled >= 1024 && unit < UNITS.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${_decimal(value < 0 ? -scaled : scaled, fractionDigits)} ${UNITS[unit]}`;
}

/**
 * `value` cut (not rounded: a size never shows more than there is) to at most `fractionDigits`,
 * trailing zeros dropped, its integer part grouped by thousands with commas: en-US, as
 * `toLocaleString` with `roundingMode: 'trunc'` writes it (what pretty-bytes asks for).
 */
function _decimal(value: number, fractionDigits: number): string {
  if (!Number.isFinite(value) || Math.abs(value) >= 1e21) return String(value);
  // 20 places of the exact binary value, then cut: rounding to the places kept would not cut.
  const [whole = '0', fraction = ''] = Math.abs(value).toFixed(20).split('.');
  const digits = fraction.slice(0, fractionDigits).replace(/0+$/, '');
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ',');
  const text = digits ? `${grouped}.${digits}` : grouped;
  return value < 0 && text !== '0' ? `-${text}` : text;
}

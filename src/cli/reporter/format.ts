/**
 * Human formats for sizes, rates, counts and durations, shared by every text output of hbr.
 * Deterministic (no locale or time zone from the machine) so output and tests are stable.
 * @module
 */
import prettyBytes from 'pretty-bytes';

/** A byte count in binary units, as restic and most backup tools print them: `1.46 GiB`. */
export function formatBytes(bytes: number): string {
  return prettyBytes(bytes, { binary: true, locale: 'en-US', maximumFractionDigits: 2 });
}

/** A transfer rate: `95.3 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${prettyBytes(bytesPerSecond, { binary: true, locale: 'en-US', maximumFractionDigits: 1 })}/s`;
}

/** A count with thousands separators: `12,345`. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
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

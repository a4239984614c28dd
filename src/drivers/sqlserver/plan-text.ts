/**
 * The human-readable form of a restore plan (`hbr sqlserver plan` without `--json`).
 * @module
 */
import { formatLsn } from './lsn.ts';
import type { RestorePlan } from './plan.ts';

/** Renders a plan as an aligned table followed by the stop point and any warnings. */
export function formatPlanText(plan: RestorePlan): string {
  const header = ['#', 'type', 'finished (UTC)', 'first LSN', 'last LSN', 'backup set', 'files'];
  const rows = plan.steps.map((s, i) => [
    String(i + 1),
    s.type + (s.isCopyOnly ? ' (copy-only)' : ''),
    s.finish.toISOString().replace('T', ' ').replace('.000Z', 'Z'),
    formatLsn(s.firstLsn),
    formatLsn(s.lastLsn),
    s.backupSetGuid,
    s.files.join(', '),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const out = [`Restore plan for database ${JSON.stringify(plan.database)}:`, line(header)];
  out.push(...rows.map(line));
  if (plan.stopAt) out.push(`Stop at ${plan.stopAt.toISOString()} (STOPAT on the last log).`);
  else if (plan.stopAtLsn !== null) out.push(`Stop at LSN ${formatLsn(plan.stopAtLsn)}.`);
  else out.push('Restore to the end of the last step.');
  out.push(...plan.warnings.map((w) => `warning: ${w}`));
  return `${out.join('\n')}\n`;
}

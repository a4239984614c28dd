/**
 * `HBR_TRACE_PHASES=1`: one line per phase on stderr (`[phase] +<ms since the process started>
 * <name>`), to see where a backup's wall time goes (process start, module loading, key
 * derivation, the downtime's parts, the commit). Off by default; costs one environment lookup.
 * @module
 */

const enabled = process.env.HBR_TRACE_PHASES === '1';

/** Notes that `name` happened now, when tracing is on. */
export function tracePhase(name: string): void {
  if (!enabled) return;
  process.stderr.write(`[phase] +${Math.round(performance.now())} ${name}\n`);
}

if (enabled) process.once('exit', () => tracePhase('exit'));

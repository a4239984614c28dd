/**
 * Timing one synchronous piece of work for the micro benchmarks.
 * @module
 */

/** Wall seconds and this process's CPU seconds (user + system, every thread) of `work`. */
export function timed(work: () => void): { wall: number; cpu: number } {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  work();
  const cpu = process.cpuUsage(cpuBefore);
  return { wall: (performance.now() - started) / 1e3, cpu: (cpu.user + cpu.system) / 1e6 };
}

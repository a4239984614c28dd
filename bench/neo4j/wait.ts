/**
 * The machine is shared: before a measured run, wait while another benchmark (`bench/run.ts`,
 * the main harness) is running.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { output } from '../system.ts';

/**
 * Polls `pgrep -f bench/run.ts` every 10 s for at most `maxSeconds` and returns how long it
 * waited; after the limit it goes on (the report states the load).
 */
export async function waitForOtherBenchmarks(
  log: (m: string) => void,
  signal: AbortSignal,
  maxSeconds = 300,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const pids = (await output('pgrep', ['-f', 'bench/run.ts']))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && l !== String(process.pid));
    const waited = (performance.now() - started) / 1000;
    if (pids.length === 0) return waited;
    if (waited >= maxSeconds) {
      log(`another benchmark is still running (pids ${pids.join(' ')}); going on`);
      return waited;
    }
    log(`another benchmark is running (pids ${pids.join(' ')}); waiting`);
    await sleep(10_000, undefined, { signal });
  }
}

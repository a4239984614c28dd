/**
 * Runs the hbr CLI in this process and prints the peak of `process.memoryUsage()` (sampled every
 * 20 ms) to stderr: where the peak RSS goes (V8 heap, external, array buffers, the rest native).
 * Usage: `node --import tsx bench/profile/mem-peak.ts <hbr args…>`
 * @module
 */
import { main } from '../../src/cli/main.ts';

let peak = process.memoryUsage();
const timer = setInterval(() => {
  const now = process.memoryUsage();
  if (now.rss > peak.rss) peak = now;
}, 20);
const code = await main(process.argv.slice(2));
clearInterval(timer);
const mib = (bytes: number): string => (bytes / 1048576).toFixed(0);
console.error(
  `peak rss ${mib(peak.rss)} MiB: heap ${mib(peak.heapTotal)}, external ${mib(peak.external)} ` +
    `(array buffers ${mib(peak.arrayBuffers)})`,
);
process.exitCode = code;

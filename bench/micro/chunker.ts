/**
 * Chunker throughput: 256 MiB of pseudo-random data fed in 8 MiB buffers, as a file read is,
 * cut by chunker.ts's JavaScript loop and by gear-scan.ts's WebAssembly (copied into its memory).
 * `node --import tsx bench/micro/chunker.ts [MiB] [runs] [feed KiB]`. Throughput counts every input byte,
 * including the `min` bytes per chunk that FastCDC skips without hashing. Reports wall-clock and
 * CPU-time rates: on a busy shared VM the CPU-time rate is the steadier measure of the loop.
 * @module
 */
import {
  CHUNKER_PROFILES,
  createChunker,
  type ChunkerParams,
  type ChunkerProfile,
} from '../../src/repository/chunker.ts';
import { createGearScanner } from '../../src/repository/gear-scan.ts';
import { createGearTable } from '../../src/repository/gear.ts';
import { GOLDEN_KEY, pseudoRandomBytes } from '../../src/repository/testdata/inputs.ts';

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 256) * MiB;
const runs = Number(process.argv[3] ?? 5);
const feed = Number(process.argv[4] ?? 8192) * 1024;
const data = pseudoRandomBytes(1, total);
const gear = createGearTable(GOLDEN_KEY);

const scanners = {
  javascript: (): undefined => undefined,
  webassembly: (params: ChunkerParams) => createGearScanner(gear, params),
};
for (const [scan, scanner] of Object.entries(scanners))
  for (const profile of Object.keys(CHUNKER_PROFILES) as ChunkerProfile[]) {
    const rates: number[] = [];
    const cpuRates: number[] = [];
    let chunks = 0;
    for (let run = 0; run < runs; run++) {
      const params = CHUNKER_PROFILES[profile];
      const chunker = createChunker(gear, params, scanner(params));
      chunks = 0;
      const started = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      for (let offset = 0; offset < total; offset += feed) {
        chunks += chunker.push(data.subarray(offset, offset + feed)).length;
      }
      if (chunker.finish()) chunks++;
      const { user, system } = process.cpuUsage(cpu);
      rates.push(total / Number((process.hrtime.bigint() - started) / 1000n));
      cpuRates.push(total / (user + system));
    }
    console.log(
      `chunker ${profile} (${scan} scan): ${(total / MiB).toFixed(0)} MiB in ${feed / 1024} KiB feeds, ${chunks} chunks` +
        ` (mean ${(total / chunks / MiB).toFixed(2)} MiB), ${runs} runs: wall ${_summary(rates)},` +
        ` cpu ${_summary(cpuRates)} MB/s`,
    );
  }

/** `median (min-max)` of rates in MB/s. */
function _summary(rates: number[]): string {
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${median.toFixed(0)} (${sorted[0]!.toFixed(0)}-${sorted.at(-1)!.toFixed(0)})`;
}

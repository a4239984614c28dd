/**
 * zstd throughput through `src/repository/compression.ts` on 1 MiB chunks (the chunker's average)
 * of float32 weights (barely compressible), text-like data and random bytes, at levels 1 and 3,
 * with 1 and 4 calls in flight; plus what the 64 KiB `worthCompressing` sample costs and how
 * often it agrees with compressing the whole chunk.
 * Each figure is the median of 3 runs (by wall-clock rate). `cpu` is bytes per CPU-second of the
 * whole process (libuv threads included): the per-core rate, steadier on a busy machine.
 * `node --import tsx bench/micro/compression.ts [MiB per kind]`
 * @module
 */
import pLimit from 'p-limit';
import {
  compress,
  decompress,
  KEEP_COMPRESSED_RATIO,
  worthCompressing,
  zstdBackend,
} from '../../src/repository/compression.ts';
import {
  float32Bytes,
  pseudoRandomBytes,
  textLikeBytes,
} from '../../src/repository/testdata/inputs.ts';

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 64) * MiB;
const kinds = {
  float32: float32Bytes(1, total / 4),
  text: textLikeBytes(2, total),
  random: pseudoRandomBytes(3, total),
};

console.log(`zstd backend ${zstdBackend()}, ${total / MiB} MiB per kind in 1 MiB chunks`);
console.log('| data | level | in flight | compress MB/s (cpu) | ratio | decompress MB/s (cpu) |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [kind, data] of Object.entries(kinds)) {
  const chunks = Array.from({ length: total / MiB }, (_, i) =>
    data.subarray(i * MiB, (i + 1) * MiB),
  );
  await _timed(chunks, 4, (c) => compress(c, 1)); // warm-up: first touch of memory, thread pool
  for (const level of [1, 3]) {
    for (const inFlight of [1, 4]) {
      const packed = _median(
        await _repeat(() => _timed(chunks, inFlight, (c) => compress(c, level))),
      );
      const size = packed.results.reduce((sum, p) => sum + p.length, 0);
      const unpacked = _median(
        await _repeat(() => _timed(packed.results, inFlight, (p) => decompress(p, MiB))),
      );
      console.log(
        `| ${kind} | ${level} | ${inFlight} | ${packed.wall.toFixed(0)} (${packed.cpu.toFixed(0)})` +
          ` | ${(size / total).toFixed(3)} | ${unpacked.wall.toFixed(0)} (${unpacked.cpu.toFixed(0)}) |`,
      );
    }
  }
}

console.log(
  `\n64 KiB level-1 sample (worthCompressing) vs whole 1 MiB chunk at level 1, 1 in flight:`,
);
for (const [kind, data] of Object.entries(kinds)) {
  const chunks = Array.from({ length: total / MiB }, (_, i) =>
    data.subarray(i * MiB, (i + 1) * MiB),
  );
  const sampled = _median(await _repeat(() => _timed(chunks, 1, (c) => worthCompressing(c))));
  const whole = _median(
    await _repeat(() =>
      _timed(chunks, 1, async (c) => {
        return (await compress(c, 1)).length < c.length * KEEP_COMPRESSED_RATIO;
      }),
    ),
  );
  const agree = sampled.results.filter((s, i) => s === whole.results[i]).length;
  const worth = sampled.results.filter(Boolean).length;
  console.log(
    `- ${kind}: sample says compress ${worth}/${chunks.length}, agrees with whole chunk on` +
      ` ${agree}/${chunks.length}; sample ${((1000 * MiB) / sampled.wall / 1e6).toFixed(3)} ms` +
      ` per chunk, whole chunk ${((1000 * MiB) / whole.wall / 1e6).toFixed(3)} ms`,
  );
}

// --- internal ---

interface _Timing<T> {
  results: T[];
  wall: number;
  cpu: number;
}

async function _repeat<T>(run: () => Promise<_Timing<T>>): Promise<_Timing<T>[]> {
  const runs: _Timing<T>[] = [];
  for (let i = 0; i < 3; i++) runs.push(await run());
  return runs;
}

function _median<T>(runs: _Timing<T>[]): _Timing<T> {
  return [...runs].sort((a, b) => a.wall - b.wall)[Math.floor(runs.length / 2)]!;
}

/**
 * Runs `fn` over `items` with `inFlight` calls at a time; rates in MB/s of `bytes` (the
 * uncompressed size, for compression and decompression alike).
 */
async function _timed<T>(
  items: Buffer[],
  inFlight: number,
  fn: (item: Buffer) => Promise<T>,
  bytes = total,
): Promise<_Timing<T>> {
  const limit = pLimit(inFlight);
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const results = await Promise.all(items.map((item) => limit(() => fn(item))));
  const { user, system } = process.cpuUsage(cpu);
  const micros = Number((process.hrtime.bigint() - started) / 1000n);
  return { results, wall: bytes / micros, cpu: bytes / (user + system) };
}

/**
 * zstd throughput through `src/repository/compression.ts` on 1 MiB chunks (the chunker's average)
 * of float32 weights (barely compressible), text-like data and random bytes, at levels 1 and 3,
 * one call after another into reused memory (as the codec workers call it); plus what the 64 KiB
 * `worthCompressing` sample costs and how often it agrees with compressing the whole chunk.
 * Each figure is the median of 3 runs (by wall-clock rate); `cpu` is bytes per CPU-second of the
 * process, steadier on a busy machine.
 * `node --import tsx bench/micro/compression.ts [MiB per kind]`
 * @module
 */
import {
  KEEP_COMPRESSED_RATIO,
  compressBound,
  compressInto,
  decompressInto,
  worthCompressing,
  zstdBackend,
} from '../../src/repository/compression.ts';
import {
  float32Bytes,
  pseudoRandomBytes,
  textLikeBytes,
} from '../../src/repository/testdata/inputs.ts';
import { median } from '../stats.ts';

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 64) * MiB;
const kinds = {
  float32: float32Bytes(1, total / 4),
  text: textLikeBytes(2, total),
  random: pseudoRandomBytes(3, total),
};
const out = Buffer.allocUnsafe(compressBound(MiB));
const back = Buffer.allocUnsafe(MiB);

console.log(`zstd backend ${zstdBackend()}, ${total / MiB} MiB per kind in 1 MiB chunks`);
console.log('| data | level | compress MB/s (cpu) | ratio | decompress MB/s (cpu) |');
console.log('| --- | --- | --- | --- | --- |');
for (const [kind, data] of Object.entries(kinds)) {
  const chunks = Array.from({ length: total / MiB }, (_, i) =>
    data.subarray(i * MiB, (i + 1) * MiB),
  );
  _timed(chunks, (c) => compressInto(c, 1, out)); // warm-up: first touch of memory
  for (const level of [1, 3]) {
    const frames = chunks.map((c) => Buffer.from(out.subarray(0, compressInto(c, level, out))));
    const size = frames.reduce((sum, f) => sum + f.length, 0);
    const packed = _repeat(() => _timed(chunks, (c) => compressInto(c, level, out)));
    const unpacked = _repeat(() => _timed(frames, (f) => decompressInto(f, back)));
    console.log(
      `| ${kind} | ${level} | ${packed.wall.toFixed(0)} (${packed.cpu.toFixed(0)})` +
        ` | ${(size / total).toFixed(3)} | ${unpacked.wall.toFixed(0)} (${unpacked.cpu.toFixed(0)}) |`,
    );
  }
}

console.log(`\n64 KiB level-1 sample (worthCompressing) vs whole 1 MiB chunk at level 1:`);
for (const [kind, data] of Object.entries(kinds)) {
  const chunks = Array.from({ length: total / MiB }, (_, i) =>
    data.subarray(i * MiB, (i + 1) * MiB),
  );
  const sampled = chunks.map((c) => worthCompressing(c));
  const whole = chunks.map((c) => compressInto(c, 1, out) < c.length * KEEP_COMPRESSED_RATIO);
  const sampleRate = _repeat(() => _timed(chunks, (c) => worthCompressing(c)));
  const wholeRate = _repeat(() => _timed(chunks, (c) => compressInto(c, 1, out)));
  const agree = sampled.filter((s, i) => s === whole[i]).length;
  console.log(
    `- ${kind}: sample says compress ${sampled.filter(Boolean).length}/${chunks.length}, agrees` +
      ` with whole chunk on ${agree}/${chunks.length}; sample` +
      ` ${((1000 * MiB) / sampleRate.wall / 1e6).toFixed(3)} ms per chunk, whole chunk` +
      ` ${((1000 * MiB) / wholeRate.wall / 1e6).toFixed(3)} ms`,
  );
}

// --- internal ---

interface _Rate {
  wall: number;
  cpu: number;
}

/** Three runs; the median of each rate. */
function _repeat(run: () => _Rate): _Rate {
  const runs = [run(), run(), run()];
  return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)) };
}

/** Runs `fn` over `items` in turn; rates in MB/s of the uncompressed size `total`. */
function _timed(items: Buffer[], fn: (item: Buffer) => unknown): _Rate {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (const item of items) fn(item);
  const { user, system } = process.cpuUsage(cpu);
  const micros = Number((process.hrtime.bigint() - started) / 1000n);
  return { wall: total / micros, cpu: total / (user + system) };
}

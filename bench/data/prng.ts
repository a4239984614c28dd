/**
 * Seeded pseudo-random numbers for the benchmark data set. Not cryptographic: fast and exactly
 * reproducible across runs and machines (only integer ops and V8's deterministic Math functions).
 * @module
 */

/** A deterministic random source. */
export interface Rng {
  /** Next unsigned 32-bit integer. */
  u32(): number;
  /** Next float in (0, 1), never 0 (safe for `Math.log`). */
  unit(): number;
  /** Next integer in [0, n). */
  below(n: number): number;
  /** Fills `out` with the next `out.length` unsigned 32-bit integers (a tight loop, ~1 GB/s). */
  fill(out: Uint32Array): void;
}

/**
 * Mixes a seed and any number of stream ids into one 32-bit value (murmur3 finaliser), so that
 * every file and region gets an independent, order-free random stream.
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Creates a xorshift128 generator from the given seed parts (see {@link mixSeed}). */
export function createRng(...seedParts: number[]): Rng {
  let x = mixSeed(...seedParts, 1) | 1;
  let y = mixSeed(...seedParts, 2);
  let z = mixSeed(...seedParts, 3);
  let w = mixSeed(...seedParts, 4);
  const u32 = (): number => {
    const t = x ^ (x << 11);
    x = y;
    y = z;
    z = w;
    w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return w;
  };
  const fill = (out: Uint32Array): void => {
    // Same recurrence as u32(), inlined on locals: calls and closure slots cost 3-4x.
    let a = x;
    let b = y;
    let c = z;
    let d = w;
    for (let i = 0; i < out.length; i++) {
      const t = a ^ (a << 11);
      a = b;
      b = c;
      c = d;
      d = d ^ (d >>> 19) ^ (t ^ (t >>> 8));
      out[i] = d;
    }
    [x, y, z, w] = [a, b, c, d >>> 0];
  };
  return {
    u32,
    unit: () => (u32() + 0.5) / 4294967296,
    below: (n) => Math.floor(((u32() + 0.5) / 4294967296) * n),
    fill,
  };
}

/** Bits of a float32 mantissa replaced by raw random bits in {@link createNormalFiller}. */
const NOISE_BITS = 13;

/**
 * Returns a function that fills a block with normally distributed float32 values (mean 0,
 * standard deviation `sigma`): the shape of trained weights, which zstd barely compresses.
 * Box-Muller per value runs at ~140 MB/s, too slow for gigabytes, so each value is one of 65,536
 * Box-Muller samples (picked by 16 random bits) with its 13 lowest mantissa bits randomised: the
 * same distribution to within 2^-10 relative, ~29 bits of entropy per value, at ~1 GB/s.
 */
export function createNormalFiller(
  tableRng: Rng,
  sigma: number,
): (rng: Rng, out: Float32Array) => void {
  const table = new Float32Array(65536);
  for (let i = 0; i < table.length; i += 2) {
    const r = sigma * Math.sqrt(-2 * Math.log(tableRng.unit()));
    const theta = 2 * Math.PI * tableRng.unit();
    table[i] = r * Math.cos(theta);
    table[i + 1] = r * Math.sin(theta);
  }
  const bits = new Uint32Array(table.buffer);
  const keep = ~((1 << NOISE_BITS) - 1);
  const noise = (1 << NOISE_BITS) - 1;
  return (rng, out) => {
    const words = new Uint32Array(out.buffer, out.byteOffset, out.length);
    rng.fill(words);
    for (let i = 0; i < words.length; i++) {
      const r = words[i] as number;
      words[i] = ((bits[r >>> 16] as number) & keep) | (r & noise);
    }
  };
}

/**
 * Picks `k` distinct integers from [0, n) (partial Fisher-Yates), returned sorted ascending.
 */
export function pickDistinct(rng: Rng, n: number, k: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  const count = Math.min(k, n);
  for (let i = 0; i < count; i++) {
    const j = i + rng.below(n - i);
    const tmp = pool[i] as number;
    pool[i] = pool[j] as number;
    pool[j] = tmp;
  }
  return pool.slice(0, count).sort((a, b) => a - b);
}

/**
 * Deterministic inputs for the chunker's golden vectors and the micro benchmarks. Frozen: the
 * golden file records each input's SHA-256, so a change here shows up as an input mismatch, not
 * as a chunker regression.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ChunkerProfile } from '../chunker.ts';

/** `length` pseudo-random bytes from xorshift32 (Marsaglia 13/17/5), little-endian words. */
export function pseudoRandomBytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
    if (i + 1 < length) out[i + 1] = x >>> 8;
    if (i + 2 < length) out[i + 2] = x >>> 16;
    if (i + 3 < length) out[i + 3] = x >>> 24;
  }
  return out;
}

const WORDS = (
  'backup restore chain full diff log snapshot database atom model weight tensor layer index ' +
  'pack blob chunk store replica verify drill point time recovery the a of and to in is for ' +
  'with on by this that from select insert update where count node edge graph provenance'
).split(' ');

/**
 * `length` bytes of compressible, text-like data: lines of words drawn by xorshift32 from a small
 * vocabulary, with a line number every line (so lines are not all distinct only by chance).
 */
export function textLikeBytes(seed: number, length: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  let x = seed >>> 0 || 1;
  for (let line = 0; size < length; line++) {
    let text = `${line}:`;
    const n = 4 + (line % 9);
    for (let w = 0; w < n; w++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      text += ' ' + WORDS[(x >>> 0) % WORDS.length]!;
    }
    text += '\n';
    parts.push(text);
    size += text.length;
  }
  return Buffer.from(parts.join(''), 'latin1').subarray(0, length);
}

/**
 * `count` float32 values, normally distributed (Box-Muller on xorshift32), as model weights
 * look: exponent bytes compress a little, mantissas not at all.
 */
export function float32Bytes(seed: number, count: number): Buffer {
  const values = new Float32Array(count);
  let x = seed >>> 0 || 1;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) + 1) / 4294967297;
  };
  for (let i = 0; i < count; i++) {
    values[i] = 0.02 * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  }
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** Inserts `insert` into `data` at `offset` (a new buffer). */
export function withInsertion(data: Uint8Array, offset: number, insert: Uint8Array): Buffer {
  return Buffer.concat([data.subarray(0, offset), insert, data.subarray(offset)]);
}

/** The fixed, public chunker key of the golden vectors: SHA-256("hbr chunker golden key"). */
export const GOLDEN_KEY: Buffer = createHash('sha256').update('hbr chunker golden key').digest();

/** A golden input by name, as recorded in `chunker-golden.json`. */
export function goldenInput(name: string): Buffer {
  switch (name) {
    case 'random-16MiB':
      return pseudoRandomBytes(0x6862_7201, 16 * 1024 * 1024);
    case 'text-8MiB':
      return textLikeBytes(0x6862_7202, 8 * 1024 * 1024);
    case 'zeros-20MiB':
      return Buffer.alloc(20 * 1024 * 1024);
    case 'sparse-16MiB': {
      // Random data around a zero-filled hole, as in preallocated database or model files.
      const data = pseudoRandomBytes(0x6862_7203, 16 * 1024 * 1024);
      return data.fill(0, 3 * 1024 * 1024 + 12_345, 13 * 1024 * 1024);
    }
    case 'random-16MiB-insert':
      return withInsertion(goldenInput('random-16MiB'), 100_000, Buffer.from('hbr-insertion'));
    default:
      throw new RangeError(`unknown golden input ${name}`);
  }
}

/** One frozen vector of `chunker-golden.json`: an input, its SHA-256, a profile, its cut points. */
export interface GoldenVector {
  readonly input: string;
  readonly sha256: string;
  readonly profile: ChunkerProfile;
  readonly cuts: number[];
}

/** `chunker-golden.json`: the key its gear table comes from (hex) and the frozen vectors. */
export function chunkerGolden(): { key: string; vectors: GoldenVector[] } {
  return JSON.parse(readFileSync(new URL('chunker-golden.json', import.meta.url), 'utf8')) as {
    key: string;
    vectors: GoldenVector[];
  };
}

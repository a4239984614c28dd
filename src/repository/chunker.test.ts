import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CHUNKER_PROFILES,
  chunkLengths,
  createLengthScanner,
  createChunker,
  type ChunkerParams,
} from './chunker.ts';
import { createGearTable } from './gear.ts';
import {
  chunkerGolden,
  GOLDEN_KEY,
  goldenInput,
  pseudoRandomBytes,
  textLikeBytes,
} from './testdata/inputs.ts';

/** Small limits so that a few KiB of data hold many chunks. */
const SMALL: ChunkerParams = { min: 64, avg: 256, max: 1024 };

/**
 * The chunking rule written as plainly as possible, in float arithmetic on unsigned values, with
 * the mask test as a division: the fast int32 loop must agree with it everywhere.
 */
function referenceCuts(gear: Int32Array, p: ChunkerParams, data: Uint8Array): number[] {
  const table = Array.from(gear, (g) => g >>> 0);
  const bits = Math.log2(p.avg);
  const cuts: number[] = [];
  for (let start = 0; start < data.length;) {
    const limit = Math.min(data.length - start, p.max);
    let length = limit;
    let h = 0;
    for (let k = p.min; k < limit; k++) {
      h = (h * 2 + table[data[start + k]!]!) % 2 ** 32;
      const maskBits = k < p.avg ? bits + 2 : bits - 2;
      if (Math.floor(h / 2 ** (32 - maskBits)) === 0) {
        length = k + 1;
        break;
      }
    }
    start += length;
    cuts.push(start);
  }
  return cuts;
}

/** Chunks `data` fed in pieces of the given sizes (the rest in one last piece). */
function chunkAll(
  gear: Int32Array,
  p: ChunkerParams,
  data: Buffer,
  feeds: number[] = [],
): Buffer[] {
  const chunker = createChunker(gear, p);
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const size of [...feeds, data.length]) {
    const piece = data.subarray(offset, Math.min(data.length, offset + size));
    offset += piece.length;
    // Hand the chunker a private copy and scribble over it afterwards, as a caller reusing its
    // read buffer would: chunks completed by this feed are copied out first.
    const feed = Buffer.from(piece);
    chunks.push(...chunker.push(feed).map((c) => Buffer.from(c)));
    feed.fill(0xa5);
  }
  const last = chunker.finish();
  if (last) chunks.push(last);
  return chunks;
}

function cutsOf(chunks: Buffer[]): number[] {
  let offset = 0;
  return chunks.map((c) => (offset += c.length));
}

void describe('chunker', () => {
  const gear = createGearTable(pseudoRandomBytes(42, 32));

  void it('chunkLengths: the reference cut points, the unfinished tail left out unless final', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const data =
        seed % 2 ? pseudoRandomBytes(seed, 3000 + seed * 997) : textLikeBytes(seed, 9000);
      const cuts = referenceCuts(gear, SMALL, data);
      const lengths = cuts.map((cut, i) => cut - (cuts[i - 1] ?? 0));
      assert.deepEqual(chunkLengths(gear, SMALL, data, true), lengths);
      // Not final: the chunks a streaming chunker completes from this feed, no more.
      const completed = createChunker(gear, SMALL)
        .push(data)
        .map((c) => c.length);
      assert.deepEqual(chunkLengths(gear, SMALL, data, false), completed);
      assert.ok(completed.length >= lengths.length - 1 && completed.length <= lengths.length);
    }
    assert.deepEqual(chunkLengths(gear, SMALL, Buffer.alloc(0), true), []);
    assert.deepEqual(chunkLengths(gear, SMALL, Buffer.alloc(10), true), [10]);
    assert.deepEqual(chunkLengths(gear, SMALL, Buffer.alloc(10), false), []);
  });

  void it('createLengthScanner: the same lengths from a stream given in pieces of any size', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const data = seed % 2 ? pseudoRandomBytes(seed, 20_000) : textLikeBytes(seed, 20_000);
      const whole = chunkLengths(gear, SMALL, data, true);
      for (const piece of [1, 7, 100, 1023, 4096, 20_000]) {
        const scanner = createLengthScanner(gear, SMALL);
        const lengths: number[] = [];
        for (let at = 0; at < data.length; at += piece) {
          lengths.push(...scanner.scan(data.subarray(at, at + piece)));
        }
        const last = scanner.finish();
        assert.deepEqual(last > 0 ? [...lengths, last] : lengths, whole, `pieces of ${piece}`);
        // Finished, it starts over.
        assert.deepEqual(scanner.scan(data), chunkLengths(gear, SMALL, data, false));
      }
    }
  });

  void it('agrees with the reference implementation on random and text-like data', () => {
    for (let seed = 1; seed <= 20; seed++) {
      for (const data of [
        pseudoRandomBytes(seed, 5000 + seed * 997),
        textLikeBytes(seed, 5000 + seed * 997),
      ]) {
        assert.deepEqual(cutsOf(chunkAll(gear, SMALL, data)), referenceCuts(gear, SMALL, data));
      }
    }
    const { db, model } = CHUNKER_PROFILES;
    for (const data of [pseudoRandomBytes(99, 6 << 20), textLikeBytes(98, 3 << 20)]) {
      assert.deepEqual(cutsOf(chunkAll(gear, db, data)), referenceCuts(gear, db, data));
      assert.deepEqual(cutsOf(chunkAll(gear, model, data)), referenceCuts(gear, model, data));
    }
  });

  void it('cuts at the same points however the stream is split into feeds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 40 }),
        (seed, length, feeds) => {
          const data = pseudoRandomBytes(seed, length);
          const whole = chunkAll(gear, SMALL, data);
          const split = chunkAll(gear, SMALL, data, feeds);
          assert.deepEqual(cutsOf(split), cutsOf(whole));
          assert.deepEqual(Buffer.concat(split), data);
        },
      ),
      { numRuns: 300 },
    );
  });

  void it('keeps every chunk but the last within min..max and loses no byte', () => {
    const data = pseudoRandomBytes(7, 200_000);
    const chunks = chunkAll(gear, SMALL, data, [1, 63, 64, 5000, 1]);
    assert.deepEqual(Buffer.concat(chunks), data);
    for (const c of chunks.slice(0, -1)) {
      assert.ok(c.length >= SMALL.min && c.length <= SMALL.max, `chunk of ${c.length} bytes`);
    }
  });

  void it('returns chunks inside a feed as views of it, without copying', () => {
    const data = pseudoRandomBytes(3, 50_000);
    const chunks = createChunker(gear, SMALL).push(data);
    assert.ok(chunks.length > 10);
    for (const c of chunks) assert.equal(c.buffer, data.buffer);
  });

  void it('cuts all-zero and constant input into max-size chunks', () => {
    const { max } = CHUNKER_PROFILES.db;
    for (const fill of [0x00, 0xff]) {
      const chunks = chunkAll(gear, CHUNKER_PROFILES.db, Buffer.alloc(3 * max + 5, fill));
      assert.deepEqual(
        chunks.map((c) => c.length),
        [max, max, max, 5],
      );
    }
  });

  void it('returns nothing for an empty stream and can be reused after finish', () => {
    const chunker = createChunker(gear, SMALL);
    assert.deepEqual(chunker.push(Buffer.alloc(0)), []);
    assert.equal(chunker.finish(), undefined);
    chunker.push(Buffer.from('abc'));
    assert.deepEqual(chunker.finish(), Buffer.from('abc'));
    assert.equal(chunker.finish(), undefined);
  });

  void it('derives a different gear table, hence different cuts, from another key', () => {
    const data = pseudoRandomBytes(11, 100_000);
    const other = createGearTable(pseudoRandomBytes(43, 32));
    assert.notDeepEqual(cutsOf(chunkAll(gear, SMALL, data)), cutsOf(chunkAll(other, SMALL, data)));
  });

  void it('rejects invalid parameters and keys', () => {
    for (const p of [
      { min: 0, avg: 1000, max: 4000 },
      { min: 512, avg: 256, max: 1024 },
      { min: 64, avg: 256, max: 128 },
      { min: 64, avg: 32, max: 1024 },
    ]) {
      assert.throws(() => createChunker(gear, p), RangeError);
    }
    assert.throws(() => createGearTable(Buffer.alloc(16)), RangeError);
  });
});

void describe('chunker golden vectors', () => {
  const golden = chunkerGolden();
  const gear = createGearTable(Buffer.from(golden.key, 'hex'));
  const inputs = new Map<string, Buffer>();
  const input = (name: string): Buffer => {
    let data = inputs.get(name);
    if (!data) inputs.set(name, (data = goldenInput(name)));
    return data;
  };

  void it('uses the published key and inputs', () => {
    assert.equal(golden.key, GOLDEN_KEY.toString('hex'));
    for (const v of golden.vectors) {
      assert.equal(createHash('sha256').update(input(v.input)).digest('hex'), v.sha256, v.input);
    }
  });

  void it('reproduces every frozen cut point, fed in 8 MiB and in odd-sized pieces', () => {
    for (const v of golden.vectors) {
      const params = CHUNKER_PROFILES[v.profile];
      const data = input(v.input);
      const feeds = Array.from({ length: 40 }, (_, i) => 8 * 1024 * 1024 - 1 + (i % 3));
      assert.deepEqual(cutsOf(chunkAll(gear, params, data, feeds)), v.cuts, v.input);
      assert.deepEqual(cutsOf(chunkAll(gear, params, data, [999_999])), v.cuts, v.input);
    }
  });

  void it('re-synchronises after an insertion near the start', () => {
    for (const profile of ['db', 'model'] as const) {
      const find = (name: string): number[] =>
        golden.vectors.find((v) => v.input === name && v.profile === profile)!.cuts;
      const before = find('random-16MiB');
      const after = new Set(find('random-16MiB-insert').map((c) => c - 'hbr-insertion'.length));
      // Only the chunk holding the insertion changes; every later cut reappears, shifted.
      assert.deepEqual(
        before.slice(1).filter((c) => !after.has(c)),
        [],
        profile,
      );
    }
  });
});

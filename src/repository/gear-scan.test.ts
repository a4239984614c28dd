import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CHUNKER_PROFILES,
  chunkLengths,
  createChunker,
  withLastChunk,
  type ChunkerParams,
} from './chunker.ts';
import { createGearTable } from './gear.ts';
import { createGearScanner, scanRoom } from './gear-scan.ts';
import {
  chunkerGolden,
  float32Bytes,
  GOLDEN_KEY,
  goldenInput,
  pseudoRandomBytes,
  textLikeBytes,
} from './testdata/inputs.ts';

const SMALL: ChunkerParams = { min: 64, avg: 256, max: 1024 };
const gear = createGearTable(GOLDEN_KEY);

/** The frozen cut points of chunker.ts's rule (chunker.test.ts checks them against their inputs). */
const golden = chunkerGolden();
const goldenGear = createGearTable(Buffer.from(golden.key, 'hex'));

/**
 * The lengths of the chunks in `data`, put into the scan room and scanned there by a room
 * scanner in pieces of the given sizes (then the rest at once), as `chunkLengths` gives them.
 */
function scanChunkLengths(
  table: Int32Array,
  params: ChunkerParams,
  data: Uint8Array,
  final: boolean,
  pieces: number[] = [],
): number[] {
  const room = scanRoom(data.length);
  room.set(data);
  const scanner = createGearScanner(table, params);
  const lengths: number[] = [];
  let at = 0;
  for (const size of [...pieces, data.length]) {
    const piece = room.subarray(at, Math.min(data.length, at + size));
    lengths.push(...scanner.scan(piece));
    at += piece.length;
  }
  return final ? withLastChunk(scanner, lengths) : lengths;
}

describe('gear scan in WebAssembly', () => {
  it('gives the room in the module memory, reused and grown as asked', () => {
    const small = scanRoom(1000);
    const { buffer, byteOffset } = small;
    assert.ok(small.length >= 1000);
    assert.equal(scanRoom(10).buffer, buffer, 'a smaller request reuses the room');
    const large = scanRoom(3 * 1024 * 1024 + 5);
    assert.ok(large.length >= 3 * 1024 * 1024 + 5);
    assert.notEqual(large.buffer, buffer, 'grown');
    assert.equal(large.byteOffset, byteOffset, 'at the same place in the larger memory');
  });

  it('cuts where chunkLengths cuts: every profile, random and text, whole or in pieces', () => {
    const inputs = [
      pseudoRandomBytes(7, 20 * 1024 * 1024 + 12_345),
      textLikeBytes(3, 9 * 1024 * 1024 + 7),
      goldenInput('random-16MiB-insert'),
      float32Bytes(9, 4 * 1024 * 1024),
    ];
    const pieces = {
      whole: [],
      "a worker's 512 KiB": Array<number>(64).fill(512 * 1024),
      odd: Array.from({ length: 300 }, (_, i) => 99_991 + (i % 5) * 7),
    };
    for (const data of inputs) {
      for (const params of [CHUNKER_PROFILES.db, CHUNKER_PROFILES.model, SMALL]) {
        for (const final of [false, true]) {
          const expected = chunkLengths(gear, params, Buffer.from(data), final);
          assert.ok(expected.length > 3, 'the input holds several chunks');
          for (const [name, sizes] of Object.entries(pieces)) {
            assert.deepEqual(
              scanChunkLengths(gear, params, data, final, sizes),
              expected,
              `${data.length} bytes, max ${params.max}, final ${final}, ${name}`,
            );
            // The module scanned them: its gear table lies in the room's memory.
            assert.deepEqual(new Int32Array(scanRoom(0).buffer, 0, 256), gear);
          }
        }
      }
    }
  });

  it('cuts inputs of every length around the limits, zero runs at max, like chunkLengths', () => {
    const random = pseudoRandomBytes(11, 4096);
    const zeros = Buffer.alloc(5000);
    const mixed = Buffer.concat([random.subarray(0, 1500), zeros, random.subarray(1500)]);
    const lengths = [0, 1, 15, 16, 17, 63, 64, 65, 79, 80, 81, 255, 256, 257, 1023, 1024, 1025];
    for (const source of [random, zeros, mixed]) {
      for (const length of [...lengths, 2048 + 31, source.length]) {
        const data = source.subarray(0, length);
        for (const final of [false, true]) {
          const expected = chunkLengths(gear, SMALL, Buffer.from(data), final);
          for (const piece of [0, 1, 7, 16, 17, 64, 65, 256, 1023]) {
            assert.deepEqual(
              scanChunkLengths(gear, SMALL, data, final, Array<number>(6000).fill(piece)),
              expected,
              `${length} bytes, final ${final}, pieces of ${piece}`,
            );
          }
        }
      }
    }
    assert.deepEqual(scanChunkLengths(gear, SMALL, zeros, true), [1024, 1024, 1024, 1024, 904]);
  });

  it('reproduces the frozen golden cut points', () => {
    for (const v of golden.vectors) {
      const lengths = scanChunkLengths(
        goldenGear,
        CHUNKER_PROFILES[v.profile],
        goldenInput(v.input),
        true,
      );
      let at = 0;
      assert.deepEqual(
        lengths.map((length) => (at += length)),
        v.cuts,
        `${v.input} ${v.profile}`,
      );
    }
  });

  it("cuts a stream whose pieces are copied one by one to the room's start the same way", () => {
    const data = pseudoRandomBytes(13, 12 * 1024 * 1024 + 999);
    for (const params of [CHUNKER_PROFILES.model, SMALL]) {
      for (const size of [512 * 1024, 65_537]) {
        const scanner = createGearScanner(gear, params);
        const lengths: number[] = [];
        for (let at = 0; at < data.length; at += size) {
          const piece = data.subarray(at, at + size);
          const room = scanRoom(piece.length);
          room.set(piece);
          lengths.push(...scanner.scan(room.subarray(0, piece.length)));
          room.fill(0xa5, 0, piece.length); // as the next copy would
        }
        lengths.push(scanner.finish());
        assert.deepEqual(lengths, chunkLengths(gear, params, data, true), `${size}`);
      }
    }
  });

  it('chunks a stream through createGearScanner as chunker.ts does, feed by feed', () => {
    const data = Buffer.concat([
      pseudoRandomBytes(17, 9 * 1024 * 1024),
      Buffer.alloc(3 * 1024 * 1024),
      textLikeBytes(5, 2 * 1024 * 1024 + 3),
    ]);
    for (const params of [CHUNKER_PROFILES.db, SMALL]) {
      for (const feed of [8 * 1024 * 1024 - 1, 999_999, 4096, 1000]) {
        const plain = createChunker(gear, params);
        const fast = createChunker(gear, params, createGearScanner(gear, params));
        for (let at = 0; at < data.length; at += feed) {
          // A private copy, scribbled over afterwards, as a caller reusing its buffer would.
          const piece = Buffer.from(data.subarray(at, at + feed));
          const expected = plain.push(piece).map((c) => Buffer.from(c));
          const got = fast.push(piece);
          assert.deepEqual(got, expected, `${params.max} ${feed} at ${at}`);
          piece.fill(0xa5);
        }
        assert.deepEqual(fast.finish(), plain.finish());
      }
    }
  });

  it('cuts the golden vectors through createGearScanner, fed in odd pieces', () => {
    for (const v of golden.vectors) {
      const params = CHUNKER_PROFILES[v.profile];
      const scanner = createGearScanner(goldenGear, params);
      const data = goldenInput(v.input);
      const lengths: number[] = [];
      for (let at = 0; at < data.length; at += 777_777) {
        lengths.push(...scanner.scan(data.subarray(at, at + 777_777)));
      }
      lengths.push(scanner.finish());
      let end = 0;
      const cuts = lengths.filter((n) => n > 0).map((n) => (end += n));
      assert.deepEqual(cuts, v.cuts, `${v.input} ${v.profile}`);
    }
  });

  it('scans pieces in the room where they lie and others copied there, in any mix', () => {
    const data = pseudoRandomBytes(19, 6 * 1024 * 1024 + 5);
    for (const params of [CHUNKER_PROFILES.model, SMALL]) {
      const scanner = createGearScanner(gear, params);
      const room = scanRoom(4 * 1024 * 1024);
      const lengths: number[] = [];
      const size = 700_001;
      for (let k = 0, at = 0; at < data.length; k++, at += size) {
        const piece = data.subarray(at, at + size);
        if (k % 2 === 0) {
          // In the room, past where copies go.
          room.set(piece, 2 * 1024 * 1024);
          lengths.push(...scanner.scan(room.subarray(2 * 1024 * 1024).subarray(0, piece.length)));
        } else {
          lengths.push(...scanner.scan(Buffer.from(piece)));
        }
      }
      lengths.push(scanner.finish());
      assert.deepEqual(lengths, chunkLengths(gear, params, data, true), `max ${params.max}`);
    }
  });

  it('rejects what chunkLengths rejects', () => {
    assert.throws(() => createGearScanner(gear, { min: 1, avg: 100, max: 200 }), RangeError);
    assert.throws(() => createGearScanner(new Int32Array(10), SMALL), RangeError);
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileWat, watFiles, wasmModulePath } from '../../scripts/wat.ts';
import { CHUNKER_PROFILES, chunkLengths, type ChunkerParams } from './chunker.ts';
import { createGearTable } from './gear.ts';
import { WASM_BASE64 } from './gear-scan-wasm.ts';
import { scanChunkLengths, scanRoom } from './gear-scan.ts';
import {
  float32Bytes,
  GOLDEN_KEY,
  goldenInput,
  pseudoRandomBytes,
  textLikeBytes,
} from './testdata/inputs.ts';

const SMALL: ChunkerParams = { min: 64, avg: 256, max: 1024 };
const gear = createGearTable(GOLDEN_KEY);

/** `data` copied into the scan room, as a view of it from its start. */
function inRoom(data: Uint8Array): Buffer {
  const room = scanRoom(data.length);
  room.set(data);
  return room.subarray(0, data.length);
}

describe('gear scan in WebAssembly', () => {
  it('carries the module its .wat compiles to (`npm run wat` after an edit)', async () => {
    const wat = fileURLToPath(new URL('./gear-scan.wat', import.meta.url));
    assert.ok(watFiles().includes(wat));
    assert.equal(
      wasmModulePath(wat),
      fileURLToPath(new URL('./gear-scan-wasm.ts', import.meta.url)),
    );
    assert.ok(Buffer.from(WASM_BASE64, 'base64').equals(await compileWat(wat)));
  });

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

  it('cuts where chunkLengths cuts: every profile, random and text, final or not', () => {
    const inputs = [
      pseudoRandomBytes(7, 20 * 1024 * 1024 + 12_345),
      textLikeBytes(3, 9 * 1024 * 1024 + 7),
      goldenInput('random-16MiB-insert'),
      float32Bytes(9, 4 * 1024 * 1024),
    ];
    for (const data of inputs) {
      for (const params of [CHUNKER_PROFILES.db, CHUNKER_PROFILES.model, SMALL]) {
        for (const final of [false, true]) {
          const expected = chunkLengths(gear, params, Buffer.from(data), final);
          const scanned = scanChunkLengths(gear, params, inRoom(data), final);
          assert.ok(expected.length > 3, 'the input holds several chunks');
          assert.deepEqual(scanned, expected, `${data.length} bytes, max ${params.max}, ${final}`);
          // The module scanned them: its gear table lies in the room's memory.
          assert.deepEqual(new Int32Array(scanRoom(0).buffer, 0, 256), gear);
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
          assert.deepEqual(
            scanChunkLengths(gear, SMALL, inRoom(data), final),
            chunkLengths(gear, SMALL, Buffer.from(data), final),
            `${length} bytes, final ${final}`,
          );
        }
      }
    }
    assert.deepEqual(
      scanChunkLengths(gear, SMALL, inRoom(zeros), true),
      [1024, 1024, 1024, 1024, 904],
    );
  });

  it('reproduces the frozen golden cut points', () => {
    const golden = JSON.parse(
      readFileSync(new URL('testdata/chunker-golden.json', import.meta.url), 'utf8'),
    ) as { key: string; vectors: { input: string; profile: 'db' | 'model'; cuts: number[] }[] };
    const goldenGear = createGearTable(Buffer.from(golden.key, 'hex'));
    for (const v of golden.vectors) {
      const lengths = scanChunkLengths(
        goldenGear,
        CHUNKER_PROFILES[v.profile],
        inRoom(goldenInput(v.input)),
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

  it('cuts bytes outside the room the same way, and rejects what chunkLengths rejects', () => {
    const data = pseudoRandomBytes(5, 6 * 1024 * 1024);
    const params = CHUNKER_PROFILES.model;
    assert.deepEqual(
      scanChunkLengths(gear, params, Buffer.from(data), true),
      chunkLengths(gear, params, Buffer.from(data), true),
    );
    assert.throws(
      () => scanChunkLengths(gear, { min: 1, avg: 100, max: 200 }, inRoom(data), true),
      RangeError,
    );
    assert.throws(
      () => scanChunkLengths(new Int32Array(10), SMALL, inRoom(data), true),
      RangeError,
    );
  });
});

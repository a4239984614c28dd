import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { compress, decompress } from './compression.ts';
import { deriveKeys, openObject, sealObject, sha256Hex } from './crypto.ts';
import { encodeIndex, openIndex } from './index-file.ts';
import { createMasterIndex } from './master-index.ts';
import type { PackEntry } from './pack.ts';

const keys = deriveKeys(randomBytes(64));

/** A blob id as the repository makes them: 32 bytes that look random. */
const idOf = (n: number): Buffer => createHash('sha256').update(`blob ${n}`).digest();

/** `n` entries of one pack, numbered from `from`. */
const entriesOf = (from: number, n: number): PackEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    id: idOf(from + i),
    type: (from + i) % 7 === 0 ? 'tree' : 'data',
    offset: i * 1000,
    length: 900 + i,
    rawLength: 2000 + from + i,
  }));

const packIdOf = (n: number): string => createHash('sha256').update(`pack ${n}`).digest('hex');

describe('master index', () => {
  it('finds every blob of thousands, from index objects and added packs, where it was put', () => {
    // Far past the first table (1,024 slots) and entry buffer, so both grow while filled.
    const packs = Array.from({ length: 40 }, (_, p) => ({
      packId: packIdOf(p),
      entries: entriesOf(p * 100, 100),
    }));
    const stored = encodeIndex(keys, packs.slice(0, 30));
    const index = createMasterIndex([openIndex(keys, stored.id, stored.bytes)]);
    for (const pack of packs.slice(30)) index.addPack(pack.packId, pack.entries);

    assert.equal(index.size, 4000);
    for (const pack of packs) {
      assert.ok(index.hasPack(pack.packId));
      for (const e of pack.entries) {
        assert.deepEqual(index.get(e.id), {
          packId: pack.packId,
          type: e.type,
          offset: e.offset,
          length: e.length,
          rawLength: e.rawLength,
        });
      }
    }
    assert.deepEqual(index.packs().get(packIdOf(35)), packs[35]?.entries);
    assert.deepEqual(index.packs().get(packIdOf(3)), packs[3]?.entries);
    assert.equal(index.packs().size, 40);
  });

  it('finds nothing for an id it does not hold, even one that begins like one it holds', () => {
    const index = createMasterIndex();
    index.addPack(packIdOf(1), entriesOf(0, 50));
    const lookalike = Buffer.from(idOf(7));
    lookalike[31] = (lookalike[31] ?? 0) ^ 1; // same first bytes, so the same slot to start
    assert.equal(index.has(lookalike), false);
    assert.equal(index.get(lookalike), undefined);
    assert.equal(index.has(idOf(50)), false);
    assert.equal(index.hasPack(packIdOf(2)), false);
    assert.ok(index.has(new Uint8Array(idOf(7))), 'a Uint8Array id is found too');
  });

  it('keeps the first location of a blob stored twice, and lists both packs whole', () => {
    const index = createMasterIndex();
    const first = entriesOf(0, 3);
    const second = entriesOf(2, 3).map((e) => ({ ...e, offset: e.offset + 5 }));
    index.addPack(packIdOf(1), first);
    index.addPack(packIdOf(2), second);
    assert.equal(index.size, 5);
    assert.equal(index.get(idOf(2))?.packId, packIdOf(1));
    assert.equal(index.get(idOf(3))?.packId, packIdOf(2));
    assert.deepEqual(index.packs().get(packIdOf(2)), second);
  });

  it('lists every entry of a pack that two index objects list differently, each once', () => {
    // get() resolves ids from any listing, so check (which reads what packs() lists) and prune
    // (which writes its new index from it) must see all of them.
    const all = entriesOf(0, 4);
    const listings = [all.slice(0, 2), all.slice(1)].map((entries) => {
      const { id, bytes } = encodeIndex(keys, [{ packId: packIdOf(1), entries }]);
      return openIndex(keys, id, bytes);
    });
    const index = createMasterIndex(listings);
    assert.equal(index.get(idOf(3))?.offset, all[3]?.offset);
    assert.deepEqual(index.packs().get(packIdOf(1)), all);
  });

  it('refuses an index object that does not match its name, or lists more than it holds', () => {
    const { id, bytes } = encodeIndex(keys, [{ packId: packIdOf(1), entries: entriesOf(0, 2) }]);
    assert.equal(openIndex(keys, id, bytes)[0]?.entries.length, 2 * 45);
    assert.throws(() => openIndex(keys, id, bytes.subarray(0, bytes.length - 1)), {
      name: 'IntegrityError',
    });
    // Sealed with the right key and named right, but its pack claims three entries and has two.
    const plain = Buffer.from(openIndexPlain(id, bytes));
    plain.writeUInt32LE(3, 9 + 32);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(plain.length, 0);
    const forged = sealObject(keys, 'index', Buffer.concat([size, compress(plain, 3)]));
    assert.throws(() => openIndex(keys, sha256Hex(forged), forged), {
      name: 'IntegrityError',
      message: /truncated/,
    });
  });

  it('refuses, as damaged, an index object sealed right whose plaintext is too short', () => {
    // A key holder can write one; openRepository skips damaged index objects (IntegrityError)
    // and would fail every read on any other error.
    const headed = (plain: Buffer): Buffer => {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(plain.length, 0);
      return Buffer.concat([size, compress(plain, 3)]);
    };
    for (const content of [Buffer.alloc(2), headed(Buffer.from('HBRI\x01', 'latin1'))]) {
      const forged = sealObject(keys, 'index', content);
      assert.throws(() => openIndex(keys, sha256Hex(forged), forged), { name: 'IntegrityError' });
    }
  });
});

/** The plaintext of a sealed index object. */
function openIndexPlain(id: string, bytes: Buffer): Buffer {
  const opened = openObject(keys, 'index', bytes, `index ${id}`);
  return decompress(opened.subarray(4), opened.readUInt32LE(0));
}

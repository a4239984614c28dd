import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalStore } from '../stores/local.ts';
import type { Store } from '../stores/types.ts';
import { decodeBlob, encodeBlob, type EncodedBlob } from './blob-codec.ts';
import { blobId, deriveKeys, sealObject, sha256Hex } from './crypto.ts';
import { createPackBuilder, packKey, parsePack, type PackBuilder } from './pack.ts';

const keys = deriveKeys(randomBytes(64));
const policy = { level: 1 };

function blobOf(plaintext: Buffer): EncodedBlob {
  return encodeBlob(keys, 'data', blobId(keys, plaintext), plaintext, policy);
}

/** Adds blobs of these plaintexts, zeroing each blob's bytes once the builder has them. */
async function addAll(builder: PackBuilder, plaintexts: Buffer[]): Promise<void> {
  for (const plaintext of plaintexts) {
    const blob = blobOf(plaintext);
    await builder.add(blob);
    blob.encoded.fill(0);
  }
}

describe('packs', () => {
  let dir: string;
  const local = (): Store =>
    createLocalStore({ path: join(dir, `repo-${randomBytes(4).toString('hex')}`) });
  /** The local store without writers: packs gathered in memory, as for a remote store. */
  const buffered = (): Store => {
    const store = local();
    delete store.createWriter;
    return store;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-pack-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [label, open] of [
    ['written as they fill (local)', local],
    ['gathered in memory (no writers)', buffered],
  ] as const) {
    test(`packs ${label} are named by their bytes' hash and give back every blob`, async () => {
      const store = open();
      const builder = createPackBuilder(keys, store, { capacity: 64 * 1024 });
      const first = [randomBytes(300_000), Buffer.alloc(50_000, 7), randomBytes(1)];
      const second = [randomBytes(2 * 1024 * 1024)];
      await addAll(builder, first);
      const one = await builder.finish();
      await addAll(builder, second); // the next pack fills while the first is being stored
      const two = await builder.finish();
      await Promise.all([one.store(), two.store()]);
      for (const [pack, plaintexts] of [
        [one, first],
        [two, second],
      ] as const) {
        const bytes = await store.get(packKey(pack.id));
        assert.equal(createHash('sha256').update(bytes).digest('hex'), pack.id);
        assert.equal(bytes.length, pack.size);
        const entries = parsePack(keys, pack.id, bytes);
        assert.deepEqual(entries, pack.entries);
        const decoded = entries.map((e) =>
          decodeBlob(
            keys,
            e.type,
            e.id,
            bytes.subarray(e.offset, e.offset + e.length),
            e.rawLength,
            'blob',
          ),
        );
        assert.deepEqual(decoded, plaintexts);
      }
      await assert.rejects(one.store(), /stored twice/);
    });
  }

  test('a discarded pack leaves nothing behind, and the builder goes on with a new one', async () => {
    const store = local();
    const builder = createPackBuilder(keys, store);
    await addAll(builder, [randomBytes(1024 * 1024 + 3)]);
    await builder.discard();
    assert.equal(builder.count, 0);
    await addAll(builder, [randomBytes(10)]);
    const pack = await builder.finish();
    await pack.store();
    const root = store.name.slice('local:'.length);
    assert.deepEqual(await readdir(root), ['data']);
    assert.deepEqual(await readdir(join(root, 'data', pack.id.slice(0, 2))), [pack.id]);
  });

  test('a header sealed with the right key but too short to hold its count is damage, not a crash', () => {
    // Whoever holds a key can write such a pack; the callers that skip damaged packs catch
    // IntegrityError only.
    for (const header of [Buffer.alloc(0), Buffer.from([1, 0])]) {
      const sealed = sealObject(keys, 'pack-header', header);
      const size = Buffer.alloc(4);
      size.writeUInt32LE(sealed.length, 0);
      const bytes = Buffer.concat([sealed, size]);
      assert.throws(() => parsePack(keys, sha256Hex(bytes), bytes), {
        name: 'IntegrityError',
        message: /header of \d+ bytes/,
      });
    }
  });
});

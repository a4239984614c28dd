import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blobsOnly } from '../../test/helpers/blob-repository.ts';
import { flipStoredByte } from '../../test/helpers/damage.ts';
import { pseudoRandomBytes, tempDir } from '../../test/helpers/temp.ts';
import type { Store } from '../stores/types.ts';
import { parsePack, packKey, type PackEntry } from './pack.ts';
import type { OpenRepository } from './repository.ts';
import { verifyPacks, type VerifiedPack } from './verify-packs.ts';

/** `store` as Azure's and S3's are: each read into memory of its own, `into` left unused. */
function ownMemory(store: Store): Store {
  return {
    ...store,
    async get(key, options = {}) {
      const { into: _unused, ...rest } = options;
      return Buffer.from(await store.get(key, rest));
    },
  };
}

/**
 * A repository in `path` holding `blobs` blobs of 256 KiB of random bytes (seeded from `seed`) in
 * packs of `packSize`, and its packs as verifyPacks takes them.
 */
async function _packed(
  path: string,
  blobs: number,
  packSize: number,
  seed: number,
): Promise<{ repo: OpenRepository; packs: { packId: string; size: number }[] }> {
  const { repo, saver } = await blobsOnly(path, packSize);
  for (let i = 0; i < blobs; i++) await saver.save('data', pseudoRandomBytes(256 * 1024, seed + i));
  await saver.flush();
  const packs: { packId: string; size: number }[] = [];
  for await (const o of repo.store.list('data/'))
    packs.push({ packId: o.key.split('/').at(-1) ?? '', size: o.size });
  return { repo, packs };
}

describe('verifying packs', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let repo: OpenRepository;
  let pack: { packId: string; size: number; entries: PackEntry[] };
  // One pack of 12 blobs of 256 KiB, several parts of it at a worker at once, the fifth damaged.
  before(async () => {
    dir = await tempDir();
    const packed = await _packed(join(dir.path, 'repo'), 12, 8 * 1024 * 1024, 1);
    repo = packed.repo;
    assert.equal(packed.packs.length, 1);
    const { packId, size } = packed.packs[0] ?? { packId: '', size: 0 };
    const entries = parsePack(repo.keys, packId, await repo.store.get(packKey(packId)));
    assert.equal(entries.length, 12);
    pack = { packId, size, entries };
    const fifth = entries[4] as PackEntry;
    await flipStoredByte(join(dir.path, 'repo'), { packId, ...fifth });
  });
  after(async () => dir.remove());

  for (const [kind, storeOf] of [
    ['local', (s: Store) => s],
    ['remote', ownMemory],
  ] as const) {
    it(`finds the damaged blob, and verifies every other, read from a ${kind} store`, async () => {
      const seen: VerifiedPack[] = [];
      const memory: boolean[] = [];
      await verifyPacks({ store: storeOf(repo.store), keys: repo.keys }, [pack], (verified) => {
        seen.push(verified);
        memory.push(verified.bytes.buffer instanceof SharedArrayBuffer);
      });
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.entries.length, 12);
      assert.deepEqual(
        seen[0]?.bad.map((e) => e.offset),
        [pack.entries[4]?.offset],
      );
      assert.equal(seen[0]?.hashOk, false, 'the flipped byte changes the hash too');
      assert.equal(seen[0]?.headerOk, true);
      // Verified where the workers read it: once in shared memory, not copied again for each
      // part of it handed to a worker (a check of 269 MiB from Azurite held 594 MB so).
      assert.deepEqual(memory, [true]);
    });
  }

  it('reads two packs ahead from a remote store, one from a local one', async () => {
    const { repo: many, packs } = await _packed(join(dir.path, 'many'), 16, 1024 * 1024, 100);
    assert.ok(packs.length >= 5, `${packs.length} packs`);
    /** The most reads of packs under way at once, each taking 20 ms, as a round trip would. */
    const readsAtOnce = async (remote: boolean): Promise<number> => {
      let reading = 0;
      let most = 0;
      const store: Store = {
        ...many.store,
        properties: { ...many.store.properties, remote },
        async get(key, options) {
          most = Math.max(most, ++reading);
          await new Promise((resolve) => setTimeout(resolve, 20));
          reading--;
          return many.store.get(key, options);
        },
      };
      let verified = 0;
      await verifyPacks({ store, keys: many.keys }, packs, (pack) => {
        assert.deepEqual(pack.bad, []);
        assert.ok(pack.hashOk);
        verified++;
      });
      assert.equal(verified, packs.length);
      return most;
    };
    assert.equal(await readsAtOnce(false), 1);
    assert.equal(await readsAtOnce(true), 2);
  });
});

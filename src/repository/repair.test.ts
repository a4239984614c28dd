import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { flipStoredByte, storedObjects } from '../../test/helpers/damage.ts';
import { pseudoRandomBytes, tempDir } from '../../test/helpers/temp.ts';
import { StoreError } from '../errors.ts';
import { createLocalStore } from '../stores/local.ts';
import type { Store } from '../stores/types.ts';
import { artifactRepository } from './artifacts.ts';
import { createBlobSaver } from './blob-saver.ts';
import { checkRepository } from './check.ts';
import { createMasterIndex } from './master-index.ts';
import { packKey } from './pack.ts';
import { pruneRepository } from './prune.ts';
import { recoverUnindexedPacks } from './recover.ts';
import { repairRepository } from './repair.ts';
import { initRepository, openRepository, type OpenRepository } from './repository.ts';

const password = { kind: 'password', password: 'pw' } as const;
/** Packs of 64 KiB: the three artifacts' blobs share one pack, the tree has another. */
const options = { scryptParams: { N: 1024, r: 8, p: 1 }, packSize: 64 * 1024 };
const NAMES = ['a.bin', 'b.bin', 'c.bin'];
const contentOf = (name: string): Buffer => pseudoRandomBytes(8 * 1024, name.charCodeAt(0));

describe('repair', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let backupId: string;
  beforeEach(async () => {
    dir = await tempDir();
    const repo = await initRepository(createLocalStore({ path: dir.path }), password, options);
    backupId = (await backUp(repo)).id;
  });
  afterEach(async () => dir.remove());

  /** Opens the repository afresh (nothing cached), through `wrap` if given. */
  const reopen = (wrap: (store: Store) => Store = (s) => s): Promise<OpenRepository> =>
    openRepository(wrap(createLocalStore({ path: dir.path })), password);
  /** The stored location and hex id of the one blob of artifact `name` of `backup` (the first). */
  const whereIs = async (name: string, backup = backupId) => {
    const opened = await reopen();
    const { tree } = await opened.findBackup(backup);
    const node = (await opened.readTree(tree)).find((n) => n.name === name);
    const id = Buffer.from(node?.content?.[0] ?? '', 'hex');
    const where = (await opened.index()).get(id);
    assert.ok(where && node?.content?.length === 1, `${name} is one indexed blob`);
    return { ...where, hex: id.toString('hex') };
  };
  const read = async (name: string): Promise<Buffer> =>
    buffer(artifactRepository(await reopen()).openArtifact(backupId, name));
  const problems = async (): Promise<string[][]> =>
    (await checkRepository(await reopen(), { readData: true })).problems.map((p) => [
      p.kind,
      ...(p.blobs ?? []),
    ]);
  /** A blob saver that knows no blob of `repo`: what it saves goes into packs of its own. */
  const unknowingSaver = (repo: OpenRepository) =>
    createBlobSaver({
      store: repo.store,
      keys: repo.keys,
      index: createMasterIndex(),
      packSize: options.packSize,
      compression: { level: 1 },
    });
  /** Stores artifact `name`'s content in a pack of its own whose index object is lost: its id. */
  const unindexedPackOf = async (name: string): Promise<string> => {
    const repo = await reopen();
    const before = new Set(await repo.indexIds());
    const saver = unknowingSaver(repo);
    await saver.save('data', contentOf(name));
    await saver.flush();
    for (const id of await repo.indexIds())
      if (!before.has(id)) await rm(join(dir.path, 'index', id));
    const index = await repo.index({ reload: true });
    const [unindexed] = (await packIds(dir.path)).filter((p) => !index.hasPack(p));
    assert.ok(unindexed);
    return unindexed;
  };
  /** {@link unindexedPackOf}, its header then damaged: a pack whose blobs cannot be listed. */
  const headerlessPackOf = async (name: string): Promise<string> => {
    const unindexed = await unindexedPackOf(name);
    const file = join(dir.path, ...packKey(unindexed).split('/'));
    const bytes = await readFile(file);
    bytes[bytes.length - 8] = (bytes[bytes.length - 8] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    return unindexed;
  };
  const affected = (): { backup: string; source: string; paths: string[] }[] => [
    { backup: backupId.slice(0, 8), source: 's', paths: ['/a.bin'] },
  ];

  it('drops a blob that fails verification, keeps every other readable, and names the backup', async () => {
    const a = await whereIs('a.bin');
    assert.equal((await whereIs('b.bin')).packId, a.packId, 'the blobs share a pack');
    await flipStoredByte(dir.path, a);
    const before = await storedObjects(dir.path);

    const dry = await repairRepository(await reopen(), { dryRun: true });
    assert.deepEqual(await storedObjects(dir.path), before, 'a dry run changes nothing');
    assert.deepEqual(dry.blobsDropped, [a.hex]);
    assert.deepEqual(dry.affected, affected());

    const report = await repairRepository(await reopen());
    assert.deepEqual(report.blobsDropped, [a.hex]);
    assert.deepEqual(report.affected, affected());
    assert.deepEqual(
      report.damaged.map((d) => [d.pack, ...d.blobs]),
      [[a.packId, a.hex]],
    );
    assert.deepEqual([report.packsRewritten, report.packsWritten, report.packsDeleted], [1, 1, 1]);
    assert.equal((await packIds(dir.path)).includes(a.packId), false, 'the damaged pack is gone');
    await assert.rejects(read('a.bin'), { name: 'NotFoundError' });
    for (const name of ['b.bin', 'c.bin']) assert.ok((await read(name)).equals(contentOf(name)));
    assert.deepEqual(await problems(), [['missing-blob', a.hex]]);

    // The same content backed up again is stored (it is in no index), and heals the backup.
    await backUp(await reopen(), ['a.bin']);
    assert.ok((await read('a.bin')).equals(contentOf('a.bin')));
    assert.deepEqual(await problems(), []);
  });

  it('changes nothing in a sound repository', async () => {
    const before = await storedObjects(dir.path);
    const report = await repairRepository(await reopen());
    assert.deepEqual([report.damaged, report.blobsDropped, report.affected], [[], [], []]);
    assert.equal(report.packsRead, 2);
    assert.equal(report.indexesReplaced, 0);
    assert.deepEqual(await storedObjects(dir.path), before);
  });

  it('drops the blobs of a pack the store no longer has, but not one another pack holds', async () => {
    const [a, b, c] = await Promise.all(NAMES.map((name) => whereIs(name)));
    assert.ok(a && b && c);
    // A second copy of c's blob, in a pack of its own, as a saver knowing nothing stores it.
    const saver = unknowingSaver(await reopen());
    await saver.save('data', contentOf('c.bin'));
    await saver.flush();
    await rm(join(dir.path, ...packKey(a.packId).split('/')));

    const report = await repairRepository(await reopen());
    assert.deepEqual(
      report.damaged.map((d) => d.message),
      [`pack ${a.packId} is missing from the store`],
    );
    assert.deepEqual(report.blobsDropped.toSorted(), [a.hex, b.hex].sort());
    assert.deepEqual(report.affected, [{ ...affected()[0], paths: ['/a.bin', '/b.bin'] }]);
    assert.deepEqual(report.packsDeleted, 0, 'nothing to delete');
    assert.ok((await read('c.bin')).equals(contentOf('c.bin')));
    assert.deepEqual(
      (await problems()).sort(),
      [
        ['missing-blob', a.hex],
        ['missing-blob', b.hex],
      ].sort(),
    );
  });

  it('left after the new index is written, nothing deleted, the repository is valid and a second repair finishes', async () => {
    const a = await whereIs('a.bin');
    await flipStoredByte(dir.path, a);
    // Killed as it starts deleting: no old index object, no pack goes.
    await assert.rejects(repairRepository(await reopen(failingDeletes('index/'))), /killed/);
    assert.ok((await packIds(dir.path)).includes(a.packId));
    // The old index objects still name the damaged pack: the blob is as damaged as before, and
    // every other one reads.
    for (const name of ['b.bin', 'c.bin']) assert.ok((await read(name)).equals(contentOf(name)));
    assert.deepEqual(await problems(), [['damaged-blob', a.hex]]);

    const again = await repairRepository(await reopen());
    assert.deepEqual(again.blobsDropped, [a.hex]);
    assert.equal(again.packsWritten, 0, 'the intact blobs were copied by the first run');
    assert.deepEqual(await problems(), [['missing-blob', a.hex]]);
    assert.equal((await packIds(dir.path)).includes(a.packId), false);
  });

  it('left after the old index objects are deleted, the damaged pack is indexed by no backup, prune passes it, and the next repair deletes it', async () => {
    const a = await whereIs('a.bin');
    await flipStoredByte(dir.path, a);
    await assert.rejects(repairRepository(await reopen(failingDeletes('data/'))), /killed/);
    assert.ok((await packIds(dir.path)).includes(a.packId));
    // A backup's session start indexes packs no index names, but not one whose bytes no longer
    // match its name: prune, which repacks from a pack read by its name, would stop at it.
    await backUp(await reopen(), ['b.bin']);
    const index = await (await reopen()).index();
    assert.equal(index.has(Buffer.from(a.hex, 'hex')), false, 'the dropped blob never comes back');
    assert.equal(index.hasPack(a.packId), false);
    assert.deepEqual((await problems()).sort(), [['missing-blob', a.hex], ['unindexed-pack']]);
    const pruned = await pruneRepository(await reopen(), { maxUnusedPercent: 0 });
    assert.equal(pruned.unindexedPacksDeleted, 0);
    assert.ok((await packIds(dir.path)).includes(a.packId), 'left for repair');

    const again = await repairRepository(await reopen());
    assert.deepEqual(
      again.damaged.map((d) => [d.pack, d.indexed]),
      [[a.packId, false]],
    );
    assert.deepEqual(again.blobsDropped, [], 'it was dropped already');
    assert.deepEqual(again.affected, affected(), 'the backup that needs it is still damaged');
    assert.equal(again.packsDeleted, 1);
    assert.deepEqual(await problems(), [['missing-blob', a.hex]]);
  });

  it('names the backups that need a blob of a damaged pack whose index object is damaged too', async () => {
    const before = new Set(await (await reopen()).indexIds());
    const second = await backUp(await reopen(), ['d.bin']);
    const d = await whereIs('d.bin', second.id);
    const [own] = (await (await reopen()).indexIds()).filter((id) => !before.has(id));
    assert.ok(own, 'the second backup wrote an index object');
    await flipStoredByte(dir.path, d);
    const index = join(dir.path, 'index', own);
    const bytes = await readFile(index);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    await writeFile(index, bytes);

    const report = await repairRepository(await reopen());
    assert.equal(report.damagedIndexes, 1);
    assert.deepEqual(
      report.damaged.map((r) => [r.pack, r.indexed, ...r.blobs]),
      [[d.packId, false, d.hex]],
    );
    assert.deepEqual(report.affected, [
      { backup: second.id.slice(0, 8), source: 's', paths: ['/d.bin'] },
    ]);
    assert.deepEqual(await problems(), [['missing-blob', d.hex]]);
  });

  it('indexes the blobs that verify of a pack no index names, never a damaged one; check passes it, and prune takes the rest for dead', async () => {
    const a = await whereIs('a.bin');
    const all = (await Promise.all(NAMES.map((name) => whereIs(name)))).map((w) => w.hex).sort();
    // Damaged before it was named (memory corrupted before hashing): a pack whose bytes hash to
    // its name, header readable, one blob not. Here: damaged, then renamed by its new hash.
    await flipStoredByte(dir.path, a);
    const from = join(dir.path, ...packKey(a.packId).split('/'));
    const renamed = createHash('sha256')
      .update(await readFile(from))
      .digest('hex');
    const to = join(dir.path, ...packKey(renamed).split('/'));
    await mkdir(dirname(to), { recursive: true });
    await rename(from, to);

    let reads = 0;
    const counting = (store: Store): Store => ({
      ...store,
      get: (key, o) => {
        if (key === packKey(renamed)) reads++;
        return store.get(key, o);
      },
    });
    const readsByStart: number[] = [];
    for (const expected of [1, 0]) {
      const before = reads;
      const repo = await reopen(counting);
      assert.equal(await recoverUnindexedPacks(repo, await repo.index()), expected);
      readsByStart.push(reads - before);
    }
    assert.ok((readsByStart[0] ?? 0) > 0, 'read by the first start');
    assert.equal(readsByStart[1], 0, 'read by the first start only: an index names it since');
    const index = await (await reopen()).index();
    assert.deepEqual(
      [...(index.packs().get(renamed) ?? [])].map((e) => e.id.toString('hex')).sort(),
      all.filter((hex) => hex !== a.hex),
    );

    const report = await repairRepository(await reopen());
    assert.deepEqual(
      report.damaged.map((d) => [d.pack, d.indexed, d.blobs.toSorted()]),
      [[a.packId, true, all]], // the name the index knew it by is gone: missing
    );
    // b and c came back from the renamed pack: only a is lost. The renamed pack is sound as far
    // as the index lists it: check --read-data finds nothing wrong with it.
    assert.deepEqual(report.blobsDropped, [a.hex]);
    for (const name of ['b.bin', 'c.bin']) assert.ok((await read(name)).equals(contentOf(name)));
    assert.deepEqual(await problems(), [['missing-blob', a.hex]]);

    // a's bytes, listed by no index, are dead space: allowed none, prune rewrites the pack.
    const pruned = await pruneRepository(await reopen(), { maxUnusedPercent: 0 });
    assert.equal(pruned.packsRepacked, 1);
    assert.equal((await packIds(dir.path)).includes(renamed), false);
    for (const name of ['b.bin', 'c.bin']) assert.ok((await read(name)).equals(contentOf(name)));
    assert.deepEqual(await problems(), [['missing-blob', a.hex]]);
  });

  it('indexes a sound pack no index names when nothing is damaged, as it reports', async () => {
    const unindexed = await unindexedPackOf('d.bin');
    const report = await repairRepository(await reopen());
    assert.deepEqual([report.damaged, report.unindexedPacksIndexed], [[], 1]);
    assert.equal(report.indexesReplaced, 0);
    assert.ok((await (await reopen()).index()).hasPack(unindexed), 'an index names it');
    assert.deepEqual(await problems(), []);
  });

  it('leaves as it is a pack no index names whose header cannot be read, and says so', async () => {
    // Which blobs it holds cannot be known, and d may be intact in it.
    const unindexed = await headerlessPackOf('d.bin');
    const untouched = await storedObjects(dir.path);

    const report = await repairRepository(await reopen());
    assert.deepEqual(
      report.damaged.map((d) => [d.pack, d.indexed, d.left]),
      [[unindexed, false, true]],
    );
    assert.match(report.damaged[0]?.message ?? '', /header unreadable.*left in the store as it is/);
    assert.deepEqual([report.packsDeleted, report.blobsDropped, report.affected], [0, [], []]);
    assert.deepEqual(await storedObjects(dir.path), untouched, 'nothing changed');
  });

  it("has a backup's start read only the header of a pack no index names whose header cannot be read", async () => {
    const unindexed = await headerlessPackOf('d.bin');
    let read = 0;
    const counting = (store: Store): Store => ({
      ...store,
      get: async (key, o) => {
        const got = await store.get(key, o);
        if (key === packKey(unindexed)) read += got.length;
        return got;
      },
    });
    const repo = await reopen(counting);
    const index = await repo.index();
    assert.equal(await recoverUnindexedPacks(repo, index), 0);
    assert.equal(index.hasPack(unindexed), false);
    // Its 8 KiB blob is never read: every backup would read it again, until the pack is removed.
    assert.ok(read > 0 && read < 1024, `${read} of the pack's 8 KiB and more read`);
  });

  it('stops, with nothing changed, when the store fails to read a pack', async () => {
    const a = await whereIs('a.bin');
    await flipStoredByte(dir.path, a);
    const before = await storedObjects(dir.path);
    const failingReads = (store: Store): Store => ({
      ...store,
      get: (key, o) =>
        key.startsWith('data/')
          ? Promise.reject(new StoreError(`[store:local] get ${key}: EIO`, { permanent: false }))
          : store.get(key, o),
    });
    await assert.rejects(repairRepository(await reopen(failingReads)), { name: 'StoreError' });
    assert.deepEqual(await storedObjects(dir.path), before);
  });
});

// --- helpers ---

/** Backs up the artifacts `names` (all three by default) as source `s`. */
async function backUp(repo: OpenRepository, names: readonly string[] = NAMES) {
  const session = await artifactRepository(repo).startBackup();
  for (const name of names) await session.addArtifact(name, Readable.from([contentOf(name)]));
  return session.commit({ source: 's', kind: 'test', type: 'full', startedAt: new Date() });
}

/** `store`, whose deletes under `prefix` fail as if the process was killed before them. */
function failingDeletes(prefix: string): (store: Store) => Store {
  return (store) => ({
    ...store,
    delete: (key, o) =>
      key.startsWith(prefix) ? Promise.reject(new Error('killed')) : store.delete(key, o),
  });
}

/** The ids of the packs in the repository's folder. */
async function packIds(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of await readdir(join(root, 'data')))
    out.push(...(await readdir(join(root, 'data', sub))));
  return out;
}

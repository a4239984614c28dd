import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rename, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { blobsOnly } from '../../test/helpers/blob-repository.ts';
import { tempDir } from '../../test/helpers/temp.ts';
import { StoreError } from '../errors.ts';
import { createLocalStore } from '../stores/local.ts';
import type { Store } from '../stores/types.ts';
import { artifactRepository } from './artifacts.ts';
import { checkRepository } from './check.ts';
import { sealObject, sha256Hex } from './crypto.ts';
import { readForgotten, replaceForgotten } from './forgotten.ts';
import { packKey } from './pack.ts';
import { forgetBackups, pruneRepository } from './prune.ts';
import { initRepository, openRepository, type OpenRepository } from './repository.ts';

const password = { kind: 'password', password: 'pw' } as const;
const fast = { scryptParams: { N: 1024, r: 8, p: 1 } };

/** Backs up one artifact of `text` into `repo`. */
async function backupOf(repo: OpenRepository, text: string) {
  const session = await artifactRepository(repo).startBackup();
  await session.addArtifact('a.txt', Readable.from([Buffer.from(text)]));
  return session.commit({ source: 's', kind: 'test', type: 'full', startedAt: new Date() });
}

/**
 * `store`, running `then` once: after the first read of an object under `prefix`, or (`listed`)
 * after listing `prefix` and before handing out its first key. Another command's step between
 * two of check's, taken at the same point every time.
 */
function interleaved(
  store: Store,
  at: { get?: string; listed?: string },
  then: () => Promise<unknown>,
): Store {
  let done = false;
  const once = async (): Promise<void> => {
    if (done) return;
    done = true;
    await then();
  };
  return {
    ...store,
    async get(key, options) {
      const bytes = await store.get(key, options);
      if (at.get !== undefined && key.startsWith(at.get)) await once();
      return bytes;
    },
    async *list(prefix, options) {
      const all = [];
      for await (const info of store.list(prefix, options)) all.push(info);
      if (at.listed !== undefined && prefix === at.listed) await once();
      yield* all;
    },
  };
}

describe('check', () => {
  it('reads every backup while one index object is damaged, and names that one', async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(createLocalStore({ path: dir.path }), password, fast);
      const data = Buffer.from('kept whole');
      const session = await artifactRepository(repo).startBackup();
      await session.addArtifact('a.txt', Readable.from([data]));
      const backup = await session.commit({
        source: 's',
        kind: 'test',
        type: 'full',
        startedAt: new Date(),
      });
      // An object named as an index object but not one: not matching its name.
      await writeFile(join(dir.path, 'index', 'ab'.repeat(32)), 'hi');
      const opened = await openRepository(repo.store, password);
      const back = await buffer(artifactRepository(opened).openArtifact(backup.id, 'a.txt'));
      assert.ok(back.equals(data));
      const report = await checkRepository(opened);
      assert.deepEqual(
        report.problems.map((p) => p.kind),
        ['damaged-index'],
      );
      assert.deepEqual(report.affected, []);
    } finally {
      await dir.remove();
    }
  });

  it('checks a pack of more blobs than a function call takes arguments', async () => {
    const dir = await tempDir();
    try {
      // 140,000 blobs of 4 bytes: one 16 MiB pack (each costs its bytes, its encoding's
      // overhead and 41 bytes of header).
      const { repo, saver } = await blobsOnly(dir.path, 16 * 1024 * 1024);
      const blobs = 140_000;
      for (let i = 0; i < blobs; i++) {
        const bytes = Buffer.alloc(4);
        bytes.writeUInt32LE(i);
        await saver.save('data', bytes);
      }
      await saver.flush();
      const report = await checkRepository(await openRepository(repo.store, password));
      assert.deepEqual(report.problems, []);
      assert.equal(report.stats.blobs, blobs);
      assert.equal(report.stats.packs, 1);
    } finally {
      await dir.remove();
    }
  });

  it('finds a pack that is not where its name says, and reports it misplaced', async () => {
    const dir = await tempDir();
    try {
      const { repo, saver } = await blobsOnly(dir.path, 1024 * 1024);
      await saver.save('data', Buffer.from('a blob'));
      await saver.flush();
      const [folder] = await readdir(join(dir.path, 'data'));
      assert.ok(folder);
      const [pack] = await readdir(join(dir.path, 'data', folder));
      assert.ok(pack);
      const elsewhere = folder === 'ff' ? 'fe' : 'ff';
      await mkdir(join(dir.path, 'data', elsewhere));
      await rename(join(dir.path, 'data', folder, pack), join(dir.path, 'data', elsewhere, pack));
      const report = await checkRepository(await openRepository(repo.store, password));
      assert.equal(report.ok, false);
      assert.deepEqual(report.problems.map((p) => [p.kind, p.severity]).sort(), [
        ['misplaced-object', 'warning'],
        ['missing-pack', 'error'],
      ]);
    } finally {
      await dir.remove();
    }
  });

  it("warns of each object of forget's record it cannot read, and of strays beside them", async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(createLocalStore({ path: dir.path }), password, fast);
      await backupOf(repo, 'kept');
      const sealed = (text: string): Buffer =>
        sealObject(repo.keys, 'forgotten', Buffer.from(text));
      const put = (bytes: Buffer, name = sha256Hex(bytes)) =>
        writeFile(join(dir.path, 'forgotten', name), bytes);
      await mkdir(join(dir.path, 'forgotten'));
      // A sound record, one whose byte flipped, one sealed under the key that holds no record,
      // and a file that is no record at all.
      await replaceForgotten(repo, await readForgotten(repo), new Map([['sales', ['a']]]));
      const flipped = sealed('{"sources":{"hr":["b"]}}');
      const flippedName = sha256Hex(flipped);
      flipped.writeUInt8(flipped.readUInt8(flipped.length - 1) ^ 1, flipped.length - 1);
      await put(flipped, flippedName);
      const noRecord = sealed('{"not":"a record"}');
      await put(noRecord);
      await put(Buffer.from('a note'), 'README');

      const report = await checkRepository(await openRepository(repo.store, password));
      assert.equal(report.ok, true, 'no backup is lost with them');
      const found = report.problems.map((p) => [p.kind, p.severity, p.message]);
      assert.equal(found.length, 3, JSON.stringify(found));
      const about = (name: string) => found.find(([, , message]) => message?.includes(name));
      assert.deepEqual(about(flippedName)?.slice(0, 2), ['damaged-forgotten', 'warning']);
      assert.match(about(flippedName)?.[2] ?? '', /does not match its name/);
      assert.deepEqual(about(sha256Hex(noRecord))?.slice(0, 2), ['damaged-forgotten', 'warning']);
      assert.match(about(sha256Hex(noRecord))?.[2] ?? '', /holds no record/);
      assert.deepEqual(about('forgotten/README')?.slice(0, 2), ['misplaced-object', 'warning']);
      // The sound one is read as before.
      assert.deepEqual([...(await readForgotten(repo)).entries], [['sales', ['a']]]);
      // A store that will not list them: the backups are checked all the same, with a warning.
      const local = createLocalStore({ path: dir.path });
      const denied: Store = {
        ...local,
        list: (prefix, options) =>
          prefix.startsWith('forgotten')
            ? (async function* () {
                yield* await Promise.reject<{ key: string; size: number }[]>(
                  new StoreError(`[store:test] list ${prefix}: 403`, { permanent: true }),
                );
              })()
            : local.list(prefix, options),
      };
      const blind = await checkRepository(await openRepository(denied, password));
      assert.equal(blind.ok, true);
      assert.equal(blind.stats.backups, 1);
      assert.deepEqual(
        blind.problems.map((p) => [p.kind, p.severity]),
        [['damaged-forgotten', 'warning']],
      );
      assert.match(blind.problems[0]?.message ?? '', /forgotten\/ could not be read.*403/);
    } finally {
      await dir.remove();
    }
  });

  it('reports an object under data/ whose name is no pack id as a stray, not as a pack', async () => {
    const dir = await tempDir();
    try {
      const { repo, saver } = await blobsOnly(dir.path, 1024 * 1024);
      await saver.save('data', Buffer.from('a blob'));
      await saver.flush();
      // A pack is read only at its own key: these are nobody's packs, so nothing to index,
      // adopt or delete.
      await mkdir(join(dir.path, 'data', 'ab'), { recursive: true });
      await writeFile(join(dir.path, 'data', 'ab', 'abcdef.tmp'), 'left by a tool');
      await writeFile(join(dir.path, 'data', 'ab', 'notes'), 'a note');
      const report = await checkRepository(await openRepository(repo.store, password));
      assert.deepEqual(report.problems.map((p) => [p.kind, p.message]).sort(), [
        [
          'misplaced-object',
          'data/ab/abcdef.tmp is no pack (its name is not a pack id): hbr never reads it',
        ],
        [
          'misplaced-object',
          'data/ab/notes is no pack (its name is not a pack id): hbr never reads it',
        ],
      ]);
      assert.equal(report.stats.packs, 1);
    } finally {
      await dir.remove();
    }
  });

  it('lists and reads each index object once, for its own index and the walk of the backups alike', async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(createLocalStore({ path: dir.path }), password, fast);
      for (const text of ['one', 'two', 'three']) await backupOf(repo, text);
      const reads = new Map<string, number>();
      let listings = 0;
      const counting: Store = {
        ...repo.store,
        get(key, options) {
          if (key.startsWith('index/')) reads.set(key, (reads.get(key) ?? 0) + 1);
          return repo.store.get(key, options);
        },
        list(prefix, options) {
          if (prefix === 'index/') listings++;
          return repo.store.list(prefix, options);
        },
      };
      const report = await checkRepository(await openRepository(counting, password));
      assert.equal(report.ok, true);
      assert.equal(reads.size, 3);
      assert.deepEqual([...reads.values()], [1, 1, 1]);
      assert.equal(listings, 1, 'index/ listed once, its strays named from that listing');
    } finally {
      await dir.remove();
    }
  });

  it('reports no damage when a backup commits while it reads the index', async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(createLocalStore({ path: dir.path }), password, fast);
      await backupOf(repo, 'there before the check');
      // Another process commits a backup of new data (packs, index object, manifest) just after
      // check has read an index object: its index object is not among those read.
      const other = await openRepository(repo.store, password);
      const store = interleaved(repo.store, { get: 'index/' }, () =>
        backupOf(other, 'written while check ran'),
      );
      const report = await checkRepository(await openRepository(store, password));
      assert.deepEqual(
        report.problems.filter((p) => p.severity === 'error'),
        [],
      );
      assert.equal(report.ok, true);
      assert.equal((await other.backups()).length, 2);
    } finally {
      await dir.remove();
    }
  });

  it('reports no damage when a backup is forgotten between listing and reading it', async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(createLocalStore({ path: dir.path }), password, fast);
      const gone = await backupOf(repo, 'forgotten while check ran');
      await backupOf(repo, 'kept');
      const store = interleaved(repo.store, { listed: 'snapshots/' }, () =>
        forgetBackups(repo, [gone.id]),
      );
      const report = await checkRepository(await openRepository(store, password));
      assert.deepEqual(report.problems, []);
      assert.equal(report.ok, true);
      assert.equal(report.stats.backups, 1);
    } finally {
      await dir.remove();
    }
  });

  it('reports a pack cut short in its header as truncated, without reading data', async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(createLocalStore({ path: dir.path }), password, fast);
      await backupOf(repo, 'a pack to cut');
      const [packId] = (await repo.index()).packs().keys();
      assert.ok(packId);
      const file = join(dir.path, packKey(packId));
      const size = (await stat(file)).size;
      await truncate(file, size - 10); // the blobs are whole, the header is not
      const report = await checkRepository(await openRepository(repo.store, password));
      assert.equal(report.ok, false);
      assert.deepEqual(
        report.problems.map((p) => [p.kind, p.pack, p.message]),
        [
          [
            'truncated-pack',
            packId,
            `pack ${packId} is truncated: ${size - 10} bytes, at least ${size} expected`,
          ],
        ],
      );
      assert.equal(report.stats.packsRead, 0);
    } finally {
      await dir.remove();
    }
  });

  it('warns of an object under snapshots/ whose name is no backup id, and prune runs', async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(createLocalStore({ path: dir.path }), password, fast);
      await backupOf(repo, 'a backup');
      await writeFile(join(dir.path, 'snapshots', 'notes.txt'), 'an operator note');
      const opened = await openRepository(repo.store, password);
      const report = await checkRepository(opened);
      assert.deepEqual(
        report.problems.map((p) => [p.kind, p.severity, p.message]),
        [
          [
            'misplaced-object',
            'warning',
            'snapshots/notes.txt is no backup (its name is not a backup id): hbr never reads it',
          ],
        ],
      );
      assert.equal(report.ok, true);
      assert.equal(report.stats.backups, 1);
      // Prune, which must know every backup, does not take the stray for a damaged one.
      const pruned = await pruneRepository(opened, { dryRun: true });
      assert.equal(pruned.liveBlobs > 0, true);
    } finally {
      await dir.remove();
    }
  });

  it('warns of an object under index/ whose name is no index id, and prune leaves it', async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(createLocalStore({ path: dir.path }), password, fast);
      await backupOf(repo, 'a backup');
      await writeFile(join(dir.path, 'index', 'README.txt'), 'an operator note');
      const opened = await openRepository(repo.store, password);
      const expected = [
        [
          'misplaced-object',
          'warning',
          'index/README.txt is no index object (its name is not an index id): hbr never reads it',
        ],
      ];
      const report = await checkRepository(opened);
      assert.deepEqual(
        report.problems.map((p) => [p.kind, p.severity, p.message]),
        expected,
      );
      assert.equal(report.ok, true);
      const pruned = await pruneRepository(opened);
      assert.equal(pruned.damagedIndexesRemoved, 0);
      assert.equal(
        await readFile(join(dir.path, 'index', 'README.txt'), 'utf8'),
        'an operator note',
      );
      const after = await checkRepository(await openRepository(repo.store, password));
      assert.deepEqual(
        after.problems.map((p) => [p.kind, p.severity, p.message]),
        expected,
      );
    } finally {
      await dir.remove();
    }
  });

  it('warns of a damaged index object once its packs are indexed again, and prune removes it', async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(createLocalStore({ path: dir.path }), password, fast);
      const first = await backupOf(repo, 'indexed by the object that breaks');
      const [indexId] = await repo.indexIds();
      assert.ok(indexId);
      const file = join(dir.path, 'index', indexId);
      const bytes = await readFile(file);
      bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 1;
      await writeFile(file, bytes);
      // Nothing indexes the packs yet: the backup's blobs are in no index.
      const broken = await checkRepository(await openRepository(repo.store, password));
      assert.equal(broken.ok, false);
      assert.ok(broken.problems.some((p) => p.kind === 'damaged-index' && p.severity === 'error'));

      // The next backup indexes the packs again from their headers.
      await backupOf(await openRepository(repo.store, password), 'the next backup');
      const healed = await checkRepository(await openRepository(repo.store, password));
      assert.deepEqual(
        healed.problems.map((p) => [p.kind, p.severity, p.message]),
        [
          [
            'damaged-index',
            'warning',
            `index ${indexId}: does not match its name; every pack in the store is in another index object, so nothing is lost: prune removes it`,
          ],
        ],
      );
      assert.equal(healed.ok, true);
      const back = await buffer(
        artifactRepository(await openRepository(repo.store, password)).openArtifact(
          first.id,
          'a.txt',
        ),
      );
      assert.equal(back.toString(), 'indexed by the object that breaks');

      const pruned = await pruneRepository(await openRepository(repo.store, password));
      assert.equal(pruned.damagedIndexesRemoved, 1);
      assert.equal((await repo.indexIds()).includes(indexId), false);
      const after = await checkRepository(await openRepository(repo.store, password));
      assert.deepEqual(after.problems, []);
    } finally {
      await dir.remove();
    }
  });
});

import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { backUpFiles, nodeAt } from '../../test/helpers/files-backup.ts';
import { tempDir } from '../../test/helpers/temp.ts';
import { diffTrees, listTree } from '../drivers/files/browse.ts';
import { restoreFiles } from '../drivers/files/restore.ts';
import { createLocalStore } from '../stores/local.ts';
import type { Store } from '../stores/types.ts';
import { checkRepository, walkTree } from './check.ts';
import { initRepository, openRepository, type OpenRepository } from './index.ts';
import { packKey } from './pack.ts';
import { createTreeReader } from './tree-reader.ts';
import type { BackupRecord } from './types.ts';

const password = { kind: 'password', password: 'pw' } as const;
const fast = { scryptParams: { N: 1024, r: 8, p: 1 } };

/**
 * `repo` with its tree reads watched: how many it made of each tree, and the most in flight at
 * once; `failing` names a tree whose reads fail, as a damaged one's would; each read takes
 * `delay` ms more, as a round trip would.
 */
function watched(
  repo: OpenRepository,
  failing?: string,
  delay = 0,
): { repo: OpenRepository; reads: Map<string, number>; most: () => number } {
  const reads = new Map<string, number>();
  let inFlight = 0;
  let most = 0;
  const readBlob: OpenRepository['readBlob'] = async (type, id, signal) => {
    if (type !== 'tree') return repo.readBlob(type, id, signal);
    const hex = id.toString('hex');
    reads.set(hex, (reads.get(hex) ?? 0) + 1);
    most = Math.max(most, ++inFlight);
    try {
      if (delay > 0) await sleep(delay);
      if (hex === failing) throw new Error(`tree ${hex.slice(0, 8)}: damaged`);
      return await repo.readBlob(type, id, signal);
    } finally {
      inFlight--;
    }
  };
  return { repo: { ...repo, readBlob }, reads, most: () => most };
}

/**
 * `store`, counting its ranged reads (in a walk of trees without data, each is a tree's) and the
 * most in flight at once, and the most reads of index objects in flight at once; each ranged
 * read takes `delay` ms more, as a round trip would.
 */
function rangedReadsOf(
  store: Store,
  delay = 0,
): {
  store: Store;
  reads: () => number;
  most: () => number;
  mostIndexes: () => number;
  /** Counts from nothing again (reads in flight stay counted as such). */
  reset: () => void;
} {
  let reads = 0;
  const inFlight = { ranged: 0, index: 0 };
  let most = { ranged: 0, index: 0 };
  const counted: Store = {
    ...store,
    async get(key, options) {
      const kind = options?.range ? 'ranged' : key.startsWith('index/') ? 'index' : undefined;
      if (kind === undefined) return store.get(key, options);
      if (kind === 'ranged') reads++;
      most[kind] = Math.max(most[kind], ++inFlight[kind]);
      try {
        if (kind === 'ranged' && delay > 0) await sleep(delay);
        return await store.get(key, options);
      } finally {
        inFlight[kind]--;
      }
    },
  };
  return {
    store: counted,
    reads: () => reads,
    most: () => most.ranged,
    mostIndexes: () => most.index,
    reset: () => {
      reads = 0;
      most = { ranged: 0, index: 0 };
    },
  };
}

describe('trees read ahead of a walk', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data = '';
  let repoPath = '';
  let backup: BackupRecord;
  /** Every tree of the latest backup, by the path of its folder (`` for the root). */
  const trees = new Map<string, string>();
  /** Every tree of both backups: they share all but those above the data (`/tmp` changes). */
  const allTrees = new Set<string>();
  const opened = (): Promise<OpenRepository> =>
    openRepository(createLocalStore({ path: repoPath }), password);

  before(async () => {
    dir = await tempDir('hbr-tree-reader-');
    data = join(dir.path, 'data');
    repoPath = join(dir.path, 'repo');
    // Twelve folders of two subfolders each, every file of its own content.
    for (let i = 0; i < 12; i++) {
      for (const sub of ['a', 'b']) {
        await mkdir(join(data, `run-${i}`, sub), { recursive: true });
        await writeFile(join(data, `run-${i}`, sub, 'f.json'), `{"run":${i},"sub":"${sub}"}`);
      }
    }
    const repo = await initRepository(createLocalStore({ path: repoPath }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    // Twice: the second backup shares the data's trees with the first.
    await backUpFiles(repo, { paths: [data] });
    await backUpFiles(repo, { paths: [data] });
    const backups = await repo.backups();
    backup = backups.at(-1) as BackupRecord;
    const walk = async (tree: string, path: string, latest: boolean): Promise<void> => {
      allTrees.add(tree);
      if (latest) trees.set(path, tree);
      for (const node of await repo.readTree(tree))
        if (node.type === 'dir' && node.subtree)
          await walk(node.subtree, `${path}/${node.name}`, latest);
    };
    for (const b of backups) await walk(b.tree, '', b === backup);
  });
  after(async () => dir.remove());

  it('lists a backup reading its subfolders’ trees at once, each once', async () => {
    const seen = watched(await opened());
    const listed = await listTree(seen.repo, backup.tree);
    assert.equal(listed.filter((n) => n.type === 'file').length, 24);
    assert.ok(seen.most() >= 12, `at most ${seen.most()} tree read(s) at once`);
    assert.deepEqual(
      [...seen.reads.values()].filter((n) => n !== 1),
      [],
      'no tree read twice',
    );
    assert.equal(seen.reads.size, new Set(trees.values()).size);
  });

  it('restores reading trees ahead, each once', async () => {
    const seen = watched(await opened());
    const target = join(dir.path, 'restored');
    const result = await restoreFiles({ repo: seen.repo, backup, target });
    assert.deepEqual(result.errors, []);
    assert.equal(result.files, 24);
    assert.equal(
      await readFile(join(target, data, 'run-7', 'b', 'f.json'), 'utf8'),
      '{"run":7,"sub":"b"}',
    );
    assert.ok(seen.most() >= 12, `at most ${seen.most()} tree read(s) at once`);
    assert.equal(Math.max(...seen.reads.values()), 1, 'no tree read twice');
  });

  it('reads the trees of folders inside folders as those arrive, not as the walk enters them', async () => {
    // Behind a round trip each: the twelve run-N trees are read at once, and each one's two
    // folders as it arrives, while the walk is still in run-0 (only as it entered each run-N,
    // at most 12 were read at once, and the walk waited a round trip per run-N).
    const listing = watched(await opened(), undefined, 20);
    const listed = await listTree(listing.repo, backup.tree);
    assert.equal(listed.filter((n) => n.type === 'file').length, 24);
    assert.ok(listing.most() >= 24, `ls: at most ${listing.most()} tree read(s) at once`);
    assert.equal(Math.max(...listing.reads.values()), 1, 'no tree read twice');
    // A check's walk the same.
    const checking = rangedReadsOf(createLocalStore({ path: repoPath }), 20);
    const checked = await openRepository(checking.store, password);
    await checked.index();
    await walkTree(checked, backup.tree, '', () => undefined);
    assert.ok(checking.most() >= 24, `check: at most ${checking.most()} tree read(s) at once`);
    // A restore of some folders reads theirs, and those above them, and no other.
    const restoring = watched(await opened(), undefined, 20);
    const some = [3, 4, 5, 6].map((i) => join(data, `run-${i}`));
    const target = join(dir.path, 'restored-some');
    const result = await restoreFiles({ repo: restoring.repo, backup, target, include: some });
    assert.deepEqual(result.errors, []);
    assert.equal(result.files, 8);
    const wanted = [...trees].filter(
      ([path]) => data.startsWith(path) || some.some((s) => path === s || path.startsWith(`${s}/`)),
    );
    assert.deepEqual(
      [...restoring.reads.keys()].sort(),
      wanted.map(([, id]) => id).sort(),
      'the trees on the way to the folders and below them',
    );
    assert.ok(restoring.most() >= 8, `restore: at most ${restoring.most()} tree read(s) at once`);
  });

  it('meets a tree that cannot be read where the walk reaches it, and goes on beside it', async () => {
    const damaged = trees.get(`${data}/run-3`) ?? '';
    const seen = watched(await opened(), damaged);
    const target = join(dir.path, 'restored-damaged');
    const result = await restoreFiles({ repo: seen.repo, backup, target });
    assert.deepEqual(
      result.errors.map((e) => e.path),
      [`${data}/run-3/`],
    );
    assert.match(result.errors[0]?.message ?? '', /folder unreadable: tree [0-9a-f]{8}: damaged/);
    assert.equal(result.files, 22, 'every other file restored');
    await assert.rejects(listTree(seen.repo, backup.tree), /damaged/);
  });

  it('from a remote store, reads the trees read ahead together in a request per span of their pack', async () => {
    const counted = rangedReadsOf(createLocalStore({ path: repoPath }), 20);
    const remote: Store = {
      ...counted.store,
      properties: { ...counted.store.properties, remote: true },
    };
    const repo = await openRepository(remote, password);
    const listed = await listTree(repo, backup.tree);
    assert.equal(listed.filter((n) => n.type === 'file').length, 24);
    // A request per level of folders read ahead at once (the root, the data folder's path, the
    // twelve run-N, their two each): a tree each was one request each.
    assert.ok(
      counted.reads() < trees.size / 2,
      `${counted.reads()} requests for ${trees.size} trees`,
    );
  });

  it('walks every backup for check reading trees ahead, each tree once for all of them', async () => {
    const counted = rangedReadsOf(createLocalStore({ path: repoPath }));
    const repo = await openRepository(counted.store, password);
    const backups = await repo.backups();
    assert.equal(backups.length, 2);
    let files = 0;
    for (const b of backups) {
      await walkTree(repo, b.tree, '', (_path, node) => {
        if (node?.type === 'file') files++;
      });
    }
    assert.equal(files, 48);
    assert.ok(counted.most() >= 12, `at most ${counted.most()} tree read(s) at once`);
    assert.equal(counted.reads(), allTrees.size, 'each tree read once');
  });

  it('checks backups side by side, reading the trees they share once', async () => {
    const counted = rangedReadsOf(createLocalStore({ path: repoPath }));
    const report = await checkRepository(await openRepository(counted.store, password));
    assert.ok(report.ok);
    assert.equal(counted.reads(), allTrees.size, 'each tree read once');
  });

  it('reads no more trees ahead than it has room for, and each tree once', async () => {
    const runs = [...trees.entries()].filter(([path]) => /run-\d+$/.test(path));
    const ids = runs.map(([, id]) => id);
    const seen = watched(await opened());
    const reader = createTreeReader(seen.repo, undefined, { trees: 3 });
    await seen.repo.index(); // as the walk's first read has, before it reads ahead
    reader.ahead([...ids, ...ids]);
    assert.equal(seen.reads.size, 3, 'three started');
    for (const id of ids) await reader.read(id);
    assert.equal(Math.max(...seen.reads.values()), 1);
    assert.equal(seen.reads.size, 12);
    // Bytes bound it too: a tree larger than the room is read ahead alone.
    const bounded = watched(await opened());
    const alone = createTreeReader(bounded.repo, undefined, { bytes: 1 });
    await bounded.repo.index();
    alone.ahead(ids);
    assert.equal(bounded.reads.size, 1, 'one started');
  });
});

describe('a check of many backups', () => {
  let dir: { path: string; remove: () => Promise<void> };
  after(async () => dir.remove());

  it('reads its index objects and walks its backups several at once, each a chain of folders', async () => {
    dir = await tempDir('hbr-check-walks-');
    const deep = join(dir.path, 'data', 'a', 'b', 'c');
    await mkdir(deep, { recursive: true });
    const repoPath = join(dir.path, 'repo');
    const repo = await initRepository(createLocalStore({ path: repoPath }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    // Each backup's trees are its own: the one file below them changes every time.
    for (let i = 0; i < 6; i++) {
      await writeFile(join(deep, 'f.json'), `{"version":${i}}`);
      await backUpFiles(repo, { paths: [join(dir.path, 'data')] });
    }
    const counted = rangedReadsOf(createLocalStore({ path: repoPath }));
    const opened = await openRepository(counted.store, password);
    // Loaded for the walks' reads of trees beforehand: what is counted next is the check's own.
    await opened.index();
    counted.reset();
    const report = await checkRepository(opened);
    assert.ok(report.ok);
    assert.ok(counted.most() >= 6, `at most ${counted.most()} tree read(s) at once`);
    assert.ok(counted.mostIndexes() >= 2, `at most ${counted.mostIndexes()} index read at once`);
  });

  it('walks a folder its backups share, found intact, once for all of them', async () => {
    const own = await tempDir('hbr-check-shared-');
    try {
      const data = join(own.path, 'data');
      for (const sub of ['a', 'b', 'c']) {
        await mkdir(join(data, sub), { recursive: true });
        for (let i = 0; i < 4; i++) await writeFile(join(data, sub, `f${i}.json`), `[${sub}${i}]`);
      }
      const store = createLocalStore({ path: join(own.path, 'repo') });
      const repo = await initRepository(store, password, fast);
      // Three backups of the same files: they share every tree of the data, and its 12 blobs.
      for (let i = 0; i < 3; i++) await backUpFiles(repo, { paths: [data] });
      // The blobs the check looks up in its index: the walk's, one per file it goes through.
      let lookedUp = 0;
      const counting: OpenRepository = {
        ...repo,
        index: async (options) => {
          const index = await repo.index(options);
          return new Proxy(index, {
            get: (target, key) => {
              if (key !== 'has') return Reflect.get(target, key, target) as unknown;
              return (id: Uint8Array) => {
                lookedUp++;
                return target.has(id);
              };
            },
          });
        },
      };
      const report = await checkRepository(counting, { readData: true });
      assert.ok(report.ok, JSON.stringify(report.problems));
      assert.equal(lookedUp, 12, 'each file looked at once, not once a backup');
    } finally {
      await own.remove();
    }
  });

  it('names a damaged file in every backup that holds it, the folders they share walked by each', async () => {
    const own = await tempDir('hbr-check-damaged-');
    try {
      const data = join(own.path, 'data');
      await mkdir(join(data, 'sub'), { recursive: true });
      await writeFile(join(data, 'sub', 'bad.json'), '"this one\'s blob is damaged"');
      await writeFile(join(data, 'sub', 'good.json'), '"kept"');
      const repoPath = join(own.path, 'repo');
      const repo = await initRepository(createLocalStore({ path: repoPath }), password, fast);
      const tree = await backUpFiles(repo, { paths: [data] });
      await backUpFiles(repo, { paths: [data] });
      const bad = await nodeAt(repo, tree, join(data, 'sub', 'bad.json'));
      const where = (await repo.index()).get(Buffer.from(bad?.content?.[0] ?? '', 'hex'));
      assert.ok(where);
      // A byte of the blob's ciphertext flipped in its pack.
      const pack = join(repoPath, packKey(where.packId));
      const bytes = await readFile(pack);
      bytes.writeUInt8(bytes.readUInt8(where.offset + 20) ^ 0xff, where.offset + 20);
      await writeFile(pack, bytes);
      const reopened = await openRepository(createLocalStore({ path: repoPath }), password);
      const report = await checkRepository(reopened, { readData: true });
      assert.equal(report.ok, false);
      assert.deepEqual(
        report.affected.map((a) => [a.backup, a.paths]),
        (await repo.backups()).map((b) => [b.shortId, [join(data, 'sub', 'bad.json')]]),
      );
    } finally {
      await own.remove();
    }
  });
});

describe('a diff of two backups', () => {
  let dir: { path: string; remove: () => Promise<void> };
  after(async () => dir.remove());

  it('reads the trees of the folders that differ ahead, and lists every change', async () => {
    dir = await tempDir('hbr-diff-ahead-');
    const data = join(dir.path, 'data');
    await mkdir(join(data, 'kept'), { recursive: true });
    await writeFile(join(data, 'kept', 'f.json'), '{}');
    const repoPath = join(dir.path, 'repo');
    const repo = await initRepository(createLocalStore({ path: repoPath }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    const before = await backUpFiles(repo, { paths: [data] });
    for (let i = 0; i < 12; i++) {
      await mkdir(join(data, 'new', `run-${i}`), { recursive: true });
      await writeFile(join(data, 'new', `run-${i}`, 'f.json'), `{"run":${i}}`);
    }
    const after = await backUpFiles(repo, { paths: [data] });
    const counted = rangedReadsOf(createLocalStore({ path: repoPath }));
    const changes = await diffTrees(await openRepository(counted.store, password), before, after);
    const added = changes.filter((c) => c.change === '+').map((c) => c.path);
    assert.equal(added.length, 1 + 12 * 2, 'the folder, its 12 folders and their files');
    assert.ok(added.includes(join(data, 'new', 'run-11', 'f.json')));
    assert.ok(counted.most() >= 12, `at most ${counted.most()} tree read(s) at once`);
  });
});

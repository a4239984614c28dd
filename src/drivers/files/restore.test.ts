import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmod,
  mkdir,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { flipStoredByte } from '../../../test/helpers/damage.ts';
import { backUpFiles, nodeAt } from '../../../test/helpers/files-backup.ts';
import { pseudoRandomBytes, tempDir, textBytes, writeFiles } from '../../../test/helpers/temp.ts';
import {
  initRepository,
  openRepository,
  type BackupRecord,
  type OpenRepository,
} from '../../repository/index.ts';
import { chunkLengths } from '../../repository/chunker.ts';
import { createGearTable } from '../../repository/gear.ts';
import { createLocalStore } from '../../stores/local.ts';
import { restoreFiles } from './restore.ts';

const password = { kind: 'password', password: 'pw' } as const;

/** The backed-up folders, below `data` ('' is `data` itself), each with a mode of its own. */
const FOLDERS = [
  { folder: '', mode: 0o750 },
  { folder: 'f0', mode: 0o755 },
  { folder: 'f1', mode: 0o700 },
  { folder: join('f1', 'deep'), mode: 0o751 },
  { folder: 'f2', mode: 0o775 },
];

/** Every file and link below `root`, relative to it, sorted. */
async function listed(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

describe('restoring a files backup', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;
  let repoPath: string;
  let backup: BackupRecord;
  /** What each file below `data` holds, by path relative to it. */
  const files = new Map<string, Buffer>();
  // More files than the restore plans at once (1,024), in several folders, some of them with
  // the same content (restored from one blob), one of many blobs, an empty one and a link.
  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    repoPath = join(dir.path, 'repo');
    for (let i = 0; i < 2600; i++) {
      const folder = `f${i % 3}`;
      const shared = i % 500 === 7;
      files.set(join(folder, `n${i}.json`), shared ? textBytes(3000, 99) : textBytes(200 + i, i));
    }
    files.set(join('f1', 'deep', 'weights.bin'), pseudoRandomBytes(3 * 1024 * 1024, 5));
    files.set('empty', Buffer.alloc(0));
    await writeFiles(data, files);
    await mkdir(join(data, 'f2'), { recursive: true });
    const repo = await initRepository(createLocalStore({ path: repoPath }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
      packSize: 1024 * 1024,
    });
    await backUpFiles(repo, { paths: [data], exclude: [] });
    await symlink('empty', join(data, 'link'));
    // Folders of their own modes and times, set last: writing into a folder changes its mtime.
    for (const [i, { folder, mode }] of FOLDERS.entries()) {
      await chmod(join(data, folder), mode);
      await utimes(join(data, folder), 1_600_000_000 + i * 86_400, 1_600_000_000 + i * 86_400);
    }
    await backUpFiles(repo, { paths: [data], exclude: [] });
    backup = (await repo.backups()).at(-1) as BackupRecord;
  });
  after(async () => dir.remove());

  /** A repository opened afresh: nothing read before is kept. */
  const opened = (): Promise<OpenRepository> =>
    openRepository(createLocalStore({ path: repoPath }), password);
  const restored = (target: string, path: string): Promise<Buffer> =>
    readFile(join(target, data, path));

  it('restores every file, window after window, and counts them against the backup', async () => {
    const target = join(dir.path, 'all');
    const seen: { files: number; totalFiles: number; bytes: number; totalBytes: number }[] = [];
    const result = await restoreFiles({
      repo: await opened(),
      backup,
      target,
      onProgress: (p) => seen.push({ ...p }),
    });
    assert.deepEqual(result.errors, []);
    assert.equal(result.files, files.size + 1);
    for (const [path, bytes] of files)
      assert.ok((await restored(target, path)).equals(bytes), path);
    assert.equal(await readlink(join(target, data, 'link')), 'empty');
    const last = seen.at(-1);
    assert.equal(last?.files, files.size + 1);
    assert.equal(last?.totalFiles, files.size + 1);
    assert.equal(last?.bytes, last?.totalBytes);
    // Nothing but the backup's files: no temporary names left behind.
    assert.deepEqual(
      (await listed(join(target, data))).filter((p) => !files.has(p) && p !== 'link'),
      [],
    );
    // Every folder as it was, however deep: its mode, and its time once nothing more went in.
    for (const { folder } of FOLDERS) {
      const [source, back] = await Promise.all([
        stat(join(data, folder)),
        stat(join(target, data, folder)),
      ]);
      assert.equal(back.mode & 0o7777, source.mode & 0o7777, folder);
      assert.equal(back.mtime.getTime(), source.mtime.getTime(), folder);
    }
  });

  it('writes nothing when a file to restore exists, and replaces it when told to', async () => {
    const target = join(dir.path, 'clash');
    // Among the last files the walk reaches: a restore that wrote as it went would have written
    // most of the others by then.
    const last = join('f2', 'n998.json');
    await mkdir(join(target, data, 'f2'), { recursive: true });
    await writeFile(join(target, data, last), 'mine');
    await assert.rejects(restoreFiles({ repo: await opened(), backup, target }), {
      name: 'UsageError',
      message: /refusing to overwrite 1 existing file.*n998\.json/,
    });
    assert.deepEqual(await listed(target), [join(data, last).slice(1)]);
    const result = await restoreFiles({ repo: await opened(), backup, target, overwrite: true });
    assert.deepEqual(result.errors, []);
    assert.ok((await restored(target, last)).equals(files.get(last) ?? Buffer.alloc(1)));
  });

  it("follows no link in the target, and replaces what is in a folder's way only when told to", async () => {
    const target = join(dir.path, 'in-the-way');
    // Outside the target: what a link there leads to, never to be written.
    const outside = join(dir.path, 'outside');
    await mkdir(outside, { mode: 0o700 });
    await writeFile(join(outside, 'keep'), 'outside');
    await utimes(outside, 1_000_000_000, 1_000_000_000);
    const before = await stat(outside);
    // Where the backup has folders f1 (holding f1/deep) and f2, a link to `outside` and a file;
    // where it has a link, a file.
    await mkdir(join(target, data), { recursive: true });
    await symlink(outside, join(target, data, 'f1'));
    await writeFile(join(target, data, 'f2'), 'mine');
    await writeFile(join(target, data, 'link'), 'mine too');
    await assert.rejects(restoreFiles({ repo: await opened(), backup, target }), {
      name: 'UsageError',
      message: /refusing to overwrite 3 existing file.*f1.*f2.*link/,
    });
    const asBefore = [join(data, 'f1'), join(data, 'f2'), join(data, 'link')].map((p) =>
      p.slice(1),
    );
    assert.deepEqual(await listed(target), asBefore.sort(), 'nothing written');

    const result = await restoreFiles({ repo: await opened(), backup, target, overwrite: true });
    assert.deepEqual(result.errors, []);
    for (const [path, bytes] of files)
      assert.ok((await restored(target, path)).equals(bytes), path);
    assert.equal(await readlink(join(target, data, 'link')), 'empty');
    assert.deepEqual(await readdir(outside), ['keep'], 'nothing written through the link');
    const after = await stat(outside);
    assert.equal(after.mode, before.mode);
    assert.equal(after.mtimeMs, before.mtimeMs);
  });

  it('restores the rest when a folder cannot be read, and names it', async () => {
    const repo = await opened();
    const folder = join(data, 'f1', 'deep');
    const subtree = (await nodeAt(repo, backup.tree, folder))?.subtree ?? '';
    const where = (await repo.index()).get(Buffer.from(subtree, 'hex'));
    assert.ok(where);
    await flipStoredByte(repoPath, where);
    try {
      const target = join(dir.path, 'damaged');
      const result = await restoreFiles({ repo: await opened(), backup, target });
      assert.deepEqual(
        result.errors.map((e) => e.path),
        [`${folder}/`],
      );
      assert.match(result.errors[0]?.message ?? '', /folder unreadable/);
      assert.equal(result.files, files.size);
      const weights = join('f1', 'deep', 'weights.bin');
      assert.deepEqual(
        await listed(join(target, data)),
        [...files.keys(), 'link'].filter((p) => p !== weights).sort(),
      );
    } finally {
      await flipStoredByte(repoPath, where);
    }
  });
});

describe('an aborted restore', () => {
  it('stops, and writes nothing more once it has returned', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    // Small files of stored bytes enough for many more ranged reads than a restore has in
    // flight (16 MiB, about 16 reads of 1 MiB): an abort finds most of them not handed over yet.
    const data = join(dir.path, 'data');
    await mkdir(data);
    const count = 400;
    for (let i = 0; i < count; i++)
      await writeFile(join(data, `r${i}.bin`), pseudoRandomBytes(40 * 1024, 1000 + i));
    const store = createLocalStore({ path: join(dir.path, 'repo') });
    const repo = await initRepository(store, password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
      packSize: 4 * 1024 * 1024,
    });
    await backUpFiles(repo, { paths: [data], exclude: [] });
    const backup = (await repo.backups()).at(-1) as BackupRecord;
    const target = join(dir.path, 'aborted');
    const abort = new AbortController();
    await assert.rejects(
      restoreFiles({
        repo: await openRepository(store, password),
        backup,
        target,
        signal: abort.signal,
        onProgress: (p) => {
          if (p.files === 10) abort.abort();
        },
      }),
    );
    assert.ok(abort.signal.aborted);
    const then = await listed(target);
    assert.ok(then.length < count, `${then.length} files written`);
    assert.deepEqual(
      then.filter((p) => p.endsWith('.hbr-restore')),
      [],
      'no file half-written',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(await listed(target), then);
  });
});

describe('restoring many large files, and versions of one', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;
  let repoPath: string;
  let backup: BackupRecord;
  const files = new Map<string, Buffer>();
  const MiB = 1024 * 1024;
  before(async () => {
    dir = await tempDir();
    data = join(dir.path, 'data');
    repoPath = join(dir.path, 'repo');
    // More large files than the restore writes at once past the page cache, each of a few
    // chunks: they compete for memory to read ahead into and for aligned pieces to write from.
    for (let i = 0; i < 10; i++) files.set(`part-${i}.bin`, pseudoRandomBytes(3 * MiB + i, 40 + i));
    // A model and a fine-tuned copy: a few bytes inserted near the start, one region changed.
    // Each repository cuts with a chunker key of its own: of 12 MiB, the copy shared 3 to 12
    // chunks with the model over 200 keys (3 once); of 16 MiB, 6 to 16.
    const model = pseudoRandomBytes(16 * MiB, 7);
    const tuned = Buffer.concat([
      model.subarray(0, 1000),
      Buffer.from('tuned'),
      model.subarray(1000),
    ]);
    pseudoRandomBytes(256 * 1024, 8).copy(tuned, 6 * MiB);
    files.set('model.bin', model);
    files.set('model-tuned.bin', tuned);
    await mkdir(data, { recursive: true });
    for (const [path, bytes] of files) await writeFile(join(data, path), bytes);
    const repo = await initRepository(createLocalStore({ path: repoPath }), password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
    });
    await backUpFiles(repo, { paths: [data], exclude: [] });
    backup = (await repo.backups()).at(-1) as BackupRecord;
  });
  after(async () => dir.remove());

  const opened = (): Promise<OpenRepository> =>
    openRepository(createLocalStore({ path: repoPath }), password);

  it('restores them all, byte for byte', async () => {
    const target = join(dir.path, 'all');
    const result = await restoreFiles({ repo: await opened(), backup, target });
    assert.deepEqual(result.errors, []);
    assert.equal(result.files, files.size);
    for (const [path, bytes] of files) {
      assert.ok((await readFile(join(target, data, path))).equals(bytes), path);
    }
    assert.deepEqual(await listed(join(target, data)), [...files.keys()].sort());
  });

  it('shows the bytes of a large file as they are written, not only once it is whole', async () => {
    const seen: { files: number; bytes: number; totalBytes: number }[] = [];
    const target = join(dir.path, 'progress');
    const model = files.get('model.bin') ?? Buffer.alloc(0);
    const result = await restoreFiles({
      repo: await opened(),
      backup,
      target,
      include: [join(data, 'model.bin')],
      onProgress: (p) => seen.push({ ...p }),
    });
    assert.deepEqual(result.errors, []);
    // The last of them once its last piece is written, before it is verified and renamed.
    const during = seen.filter((p) => p.files === 0);
    assert.ok(during.length >= 4, `${during.length} reports before the file was whole`);
    assert.ok(during.every((p) => p.bytes > 0 && p.bytes <= model.length));
    assert.deepEqual(
      seen.map((p) => p.bytes),
      seen.map((p) => p.bytes).sort((a, b) => a - b),
      'never going back',
    );
    const whole = { files: 1, totalFiles: 1, bytes: model.length, totalBytes: model.length };
    assert.deepEqual(seen.at(-1), whole);
  });

  it('decodes the blobs a model shares with its fine-tuned copy once', async () => {
    const repo = await opened();
    const leased: string[] = [];
    const counting: OpenRepository = Object.assign(Object.create(repo) as OpenRepository, {
      leaseBlob: (...args: Parameters<OpenRepository['leaseBlob']>) => {
        leased.push(args[1].toString('hex'));
        return repo.leaseBlob(...args);
      },
    });
    const target = join(dir.path, 'versions');
    const include = ['model.bin', 'model-tuned.bin'].map((name) => join(data, name));
    const result = await restoreFiles({ repo: counting, backup, target, include });
    assert.deepEqual(result.errors, []);
    for (const name of ['model.bin', 'model-tuned.bin']) {
      assert.ok(
        (await readFile(join(target, data, name))).equals(files.get(name) ?? Buffer.alloc(0)),
      );
    }
    const tree = await nodeAt(repo, backup.tree, join(data, 'model-tuned.bin'));
    const model = await nodeAt(repo, backup.tree, join(data, 'model.bin'));
    const distinct = new Set([...(tree?.content ?? []), ...(model?.content ?? [])]);
    const shared = (tree?.content ?? []).filter((id) => model?.content?.includes(id));
    assert.ok(shared.length >= 4, `${shared.length} blobs shared`);
    assert.equal(leased.length, distinct.size, 'each distinct blob read and decoded once');
  });

  /** Where a blob lies that the fine-tuned copy holds and the model does not. */
  const blobOfTunedOnly = async () => {
    const repo = await opened();
    const tuned = await nodeAt(repo, backup.tree, join(data, 'model-tuned.bin'));
    const model = await nodeAt(repo, backup.tree, join(data, 'model.bin'));
    const own = (tuned?.content ?? []).find((id) => !model?.content?.includes(id));
    assert.ok(own, 'the fine-tuned copy has a blob of its own');
    const where = (await repo.index()).get(Buffer.from(own, 'hex'));
    assert.ok(where);
    return where;
  };

  it('fails only the file of a damaged blob that its fine-tuned copy does not share', async () => {
    const where = await blobOfTunedOnly();
    await flipStoredByte(repoPath, where);
    try {
      const target = join(dir.path, 'one-damaged');
      const include = ['model.bin', 'model-tuned.bin'].map((name) => join(data, name));
      const result = await restoreFiles({ repo: await opened(), backup, target, include });
      assert.deepEqual(
        result.errors.map((e) => e.path),
        [join(data, 'model-tuned.bin')],
      );
      assert.deepEqual(await listed(join(target, data)), ['model.bin']);
      assert.ok(
        (await readFile(join(target, data, 'model.bin'))).equals(
          files.get('model.bin') ?? Buffer.alloc(0),
        ),
      );
    } finally {
      await flipStoredByte(repoPath, where);
    }
  });

  it('keeps a file it is told to overwrite as it was when the new one cannot be restored', async () => {
    const where = await blobOfTunedOnly();
    const target = join(dir.path, 'overwrite-damaged');
    await mkdir(join(target, data), { recursive: true });
    for (const name of ['model.bin', 'model-tuned.bin'])
      await writeFile(join(target, data, name), `my ${name}`);
    await flipStoredByte(repoPath, where);
    try {
      const include = ['model.bin', 'model-tuned.bin'].map((name) => join(data, name));
      const result = await restoreFiles({
        repo: await opened(),
        backup,
        target,
        include,
        overwrite: true,
      });
      assert.deepEqual(
        result.errors.map((e) => e.path),
        [join(data, 'model-tuned.bin')],
      );
      assert.equal(
        await readFile(join(target, data, 'model-tuned.bin'), 'utf8'),
        'my model-tuned.bin',
      );
      assert.ok(
        (await readFile(join(target, data, 'model.bin'))).equals(
          files.get('model.bin') ?? Buffer.alloc(0),
        ),
      );
      assert.deepEqual(await listed(join(target, data)), ['model-tuned.bin', 'model.bin']);
    } finally {
      await flipStoredByte(repoPath, where);
    }
  });
});

describe('restoring under a file size limit', () => {
  it('fails the files a write cut short, leaving them absent, and restores the rest whole', async () => {
    const dir = await tempDir();
    try {
      const data = join(dir.path, 'data');
      const repoPath = join(dir.path, 'repo');
      const repo = await initRepository(createLocalStore({ path: repoPath }), password, {
        scryptParams: { N: 1024, r: 8, p: 1 },
      });
      // A file of two blobs or more, under 1 MiB: written through the page cache from the main
      // thread (`writeContents`). Its chunks depend on this repository's chunker key: content is
      // drawn until it is cut so.
      const gear = createGearTable(repo.keys.chunkerKey);
      const params = repo.config.chunkers.model;
      assert.ok(params);
      let cut: Buffer = Buffer.alloc(0);
      let lengths: number[] = [];
      for (let seed = 1; lengths.length < 2; seed++) {
        cut = pseudoRandomBytes(1_000_000, seed);
        lengths = chunkLengths(gear, params, cut, true);
      }
      // The limit lies in its last blob: every write but the last goes through whole, and the
      // last is cut short without an error, which only its count shows.
      const limit = cut.length - Math.floor((lengths.at(-1) ?? 0) / 2);
      const files = new Map([
        ['small.txt', textBytes(20_000, 1)], // one blob: written by a codec worker
        ['cut.bin', cut],
        ['large.bin', pseudoRandomBytes(3 * 1024 * 1024, 2)], // past the page cache
      ]);
      await mkdir(data);
      for (const [name, bytes] of files) await writeFile(join(data, name), bytes);
      await backUpFiles(repo, { paths: [data], exclude: [] });
      const node = await nodeAt(repo, (await repo.backups())[0]?.tree ?? '', join(data, 'cut.bin'));
      assert.ok((node?.content?.length ?? 0) >= 2, 'cut.bin is of several blobs');

      // Files may not grow past `limit` bytes in the restoring process: a write that would is cut
      // short, the next fails (EFBIG), as on a disk that fills up.
      const target = join(dir.path, 'target');
      const script = `
        import { openRepository } from ${JSON.stringify(new URL('../../repository/index.ts', import.meta.url).href)};
        import { createLocalStore } from ${JSON.stringify(new URL('../../stores/local.ts', import.meta.url).href)};
        import { restoreFiles } from ${JSON.stringify(new URL('./restore.ts', import.meta.url).href)};
        const repo = await openRepository(createLocalStore({ path: process.env.REPO }), { kind: 'password', password: 'pw' });
        const [backup] = await repo.backups();
        const result = await restoreFiles({ repo, backup, target: process.env.TARGET });
        console.log(JSON.stringify(result.errors));
        process.exit(0);`;
      const { stdout } = await promisify(execFile)(
        'prlimit',
        [
          `--fsize=${limit}`,
          process.execPath,
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          script,
        ],
        { env: { ...process.env, REPO: repoPath, TARGET: target } },
      );
      const errors = JSON.parse(stdout) as { path: string; message: string }[];
      assert.deepEqual(
        errors.map((e) => e.path).sort(),
        ['cut.bin', 'large.bin'].map((name) => join(data, name)),
      );
      for (const e of errors) assert.match(e.message, /EFBIG|file too large/i);
      assert.deepEqual(await listed(join(target, data)), ['small.txt'], 'nothing cut short kept');
      assert.ok((await readFile(join(target, data, 'small.txt'))).equals(files.get('small.txt')!));
    } finally {
      await dir.remove();
    }
  });
});

describe('restoring times', () => {
  it('gives each file its time to the microsecond, before 1970 too', async () => {
    const dir = await tempDir();
    try {
      const data = join(dir.path, 'data');
      await mkdir(data);
      // Nanoseconds the backup records; Node.js sets whole microseconds. A time on the
      // microsecond itself came back a microsecond early about every other time.
      const times = [
        ...Array.from(
          { length: 24 },
          (_, i) =>
            `${1_700_000_000 + i * 7919}.${String(123_451_789 + i * 1_000_003).padStart(9, '0')}`,
        ),
        '1700000000.999999999',
        '1700000000.000000000',
        '-1.500000400',
        '-86400.000001000',
      ];
      for (const [i, time] of times.entries()) {
        const path = join(data, `t${i}`);
        await writeFile(path, `time ${time}`);
        await promisify(execFile)('touch', ['-m', '-d', `@${time}`, path]);
      }
      const repo = await initRepository(
        createLocalStore({ path: join(dir.path, 'repo') }),
        password,
        {
          scryptParams: { N: 1024, r: 8, p: 1 },
        },
      );
      await backUpFiles(repo, { paths: [data], exclude: [] });
      const [backup] = await repo.backups();
      assert.ok(backup);
      const target = join(dir.path, 'target');
      assert.deepEqual((await restoreFiles({ repo, backup, target })).errors, []);
      const micros = (ns: bigint): bigint => (ns - (((ns % 1000n) + 1000n) % 1000n)) / 1000n;
      for (const i of times.keys()) {
        const source = await stat(join(data, `t${i}`), { bigint: true });
        const back = await stat(join(target, data, `t${i}`), { bigint: true });
        assert.equal(micros(back.mtimeNs), micros(source.mtimeNs), times[i]);
      }
    } finally {
      await dir.remove();
    }
  });
});

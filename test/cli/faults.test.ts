import assert from 'node:assert/strict';
import { readdir, readFile, stat, truncate, utimes, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hbr, HBR_BIN, hbrProcess, summaryOf } from '../helpers/cli.ts';
import { pseudoRandomBytes, tempDir } from '../helpers/temp.ts';

/** Every pack file of a local repository, with its size. */
async function packs(repo: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const sub of await readdir(join(repo, 'data')).catch(() => [] as string[])) {
    for (const name of await readdir(join(repo, 'data', sub))) {
      if (name.startsWith('.')) continue;
      const path = join(repo, 'data', sub, name);
      out.push({ path, size: (await stat(path)).size });
    }
  }
  return out;
}

describe('hbr under faults', () => {
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => {
    dir = await tempDir();
  });
  after(async () => dir.remove());

  it('fails cleanly when the disk fills up, and the repository stays valid', async () => {
    const work = join(dir.path, 'full');
    await mkdir(join(work, 'small'), { recursive: true });
    await mkdir(join(work, 'first'));
    await mkdir(join(work, 'big'));
    await writeFile(join(work, 'first', 'a.bin'), pseudoRandomBytes(2 * 1024 * 1024, 11));
    await writeFile(join(work, 'big', 'b.bin'), pseudoRandomBytes(12 * 1024 * 1024, 12));
    // A private 8 MiB tmpfs in a throwaway mount namespace: a real ENOSPC, no root needed.
    const node = process.execPath;
    const script = [
      `mount -t tmpfs -o size=8m tmpfs small || exit 99`,
      `export HBR_REPOSITORY=small/repo HBR_PASSWORD=pw`,
      `${node} ${HBR_BIN} init --pack-size 1 >/dev/null; echo "init=$?"`,
      `${node} ${HBR_BIN} backup first >/dev/null; echo "first=$?"`,
      `${node} ${HBR_BIN} backup big 2>big.err >/dev/null; echo "big=$?"`,
      `${node} ${HBR_BIN} check --read-data >check.out 2>&1; echo "check=$?"`,
      `${node} ${HBR_BIN} backups --json > list.json; echo "list=$?"`,
      `${node} ${HBR_BIN} restore latest --target out >/dev/null 2>&1; echo "restore=$?"`,
    ].join('\n');
    const { done } = hbrProcess([], {
      cwd: work,
      prefix: ['unshare', '-rm', 'sh', '-c', script, '--'],
    });
    const result = await done;
    assert.doesNotMatch(result.stdout, /99/, `could not mount a tmpfs: ${result.stderr}`);
    const rc = Object.fromEntries(
      result.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    assert.deepEqual(
      rc,
      { init: '0', first: '0', big: '1', check: '0', list: '0', restore: '0' },
      result.stderr,
    );
    assert.match(await readFile(join(work, 'big.err'), 'utf8'), /no space left on device/);
    assert.match(await readFile(join(work, 'check.out'), 'utf8'), /no errors were found/);
    const listed = JSON.parse(await readFile(join(work, 'list.json'), 'utf8')) as {
      paths: string[];
    }[];
    assert.equal(listed.length, 1);
    assert.ok(
      (await readFile(join(work, 'out', work, 'first', 'a.bin'))).equals(
        await readFile(join(work, 'first', 'a.bin')),
      ),
    );
  });

  it('restores what fits onto a disk that fills up, names the rest, and leaves nothing torn', async () => {
    const work = join(dir.path, 'full-target');
    const src = join(work, 'src');
    await mkdir(join(src, 'notes'), { recursive: true });
    // Small files (written by the codec workers) and large ones (past the page cache): 30 MiB
    // for a 16 MiB disk. b.bin alone cannot fit; a.bin and the notes fit beside what b.bin holds
    // when the disk fills unless b.bin is written at twice a.bin's pace (with 8 MiB, both large
    // files failed under a loaded machine's timing, and nothing was restored).
    const sources = new Map<string, Buffer>();
    for (let i = 0; i < 40; i++) {
      sources.set(`notes/n${i}.txt`, Buffer.from(`note ${i}\n`.repeat(400 + 50 * i)));
    }
    sources.set('a.bin', pseudoRandomBytes(6 * 1024 * 1024, 41));
    sources.set('b.bin', pseudoRandomBytes(24 * 1024 * 1024, 42));
    for (const [name, bytes] of sources) await writeFile(join(src, name), bytes);
    const env = { HBR_REPOSITORY: join(work, 'repo'), HBR_PASSWORD: 'pw' };
    assert.equal((await hbr(['init'], { env, cwd: work })).code, 0);
    assert.equal((await hbr(['backup', 'src'], { env, cwd: work })).code, 0);

    // The target is a private 16 MiB tmpfs, gone with its mount namespace: what was restored is
    // copied out before.
    const script = [
      `mkdir out saved && mount -t tmpfs -o size=16m tmpfs out || exit 99`,
      `"$@" restore latest --target out --json >restore.json 2>restore.err; echo "restore=$?"`,
      `cp -a out/. saved/`,
    ].join('\n');
    const { done } = hbrProcess([], {
      env,
      cwd: work,
      prefix: ['unshare', '-rm', 'sh', '-c', script, '--'],
    });
    const result = await done;
    assert.doesNotMatch(result.stdout, /99/, `could not mount a tmpfs: ${result.stderr}`);
    // Exit code 3: some files restored, some not.
    assert.match(result.stdout, /^restore=3$/m, await readFile(join(work, 'restore.err'), 'utf8'));
    const summary = summaryOf({
      code: 3,
      stdout: await readFile(join(work, 'restore.json'), 'utf8'),
      stderr: '',
    });
    const failed = new Map(
      (summary.errors as { path: string; message: string }[]).map((e) => [e.path, e.message]),
    );
    assert.match(failed.get(`${src}/b.bin`) ?? '', /no space left on device/);

    // Every file is there whole or not at all, and those not there are the ones named.
    const restored = join(work, 'saved', src);
    const left = (await readdir(restored, { recursive: true, withFileTypes: true }))
      .filter((e) => !e.isDirectory())
      .map((e) => join(e.parentPath, e.name).slice(restored.length + 1));
    const stray = left.filter((name) => !sources.has(name));
    assert.deepEqual(stray, [], 'no temporary or other file is left behind');
    for (const [name, bytes] of sources) {
      if (left.includes(name)) {
        assert.ok((await readFile(join(restored, name))).equals(bytes), `${name} restored whole`);
      } else {
        assert.ok(failed.has(`${src}/${name}`), `${name}, missing, is named as failed`);
      }
    }
    assert.ok(left.length > 0, 'what fits is restored');
    assert.equal(failed.size, sources.size - left.length, 'only the missing files are named');
  });

  it('survives being killed mid-backup and mid-prune: earlier backups intact, next run succeeds', async () => {
    const work = join(dir.path, 'kill');
    const repo = join(work, 'repo');
    const env = { HBR_REPOSITORY: repo, HBR_PASSWORD: 'pw' };
    const run = (...args: string[]) => hbr(args, { env, cwd: work });
    await mkdir(join(work, 'src'), { recursive: true });
    await writeFile(join(work, 'src', 'keep.bin'), pseudoRandomBytes(3 * 1024 * 1024, 21));
    assert.equal((await run('init', '--pack-size', '1')).code, 0);
    const first = summaryOf(await run('backup', 'src', '--json'));

    // Kill -9 after the n-th new pack appears, for a few n: the backup is surely mid-way.
    for (const [round, n] of [1, 3, 6].entries()) {
      await writeFile(
        join(work, 'src', `big-${round}.bin`),
        pseudoRandomBytes(40 * 1024 * 1024, 30 + round),
      );
      const before = (await packs(repo)).length;
      const { child, done } = hbrProcess(['backup', 'src'], { env, cwd: work });
      while ((await packs(repo)).length < before + n && child.exitCode === null) await sleep(20);
      child.kill('SIGKILL');
      await done;
      const check = await run('check');
      assert.equal(check.code, 0, `round ${round}: ${check.stdout}${check.stderr}`);
      const listed = JSON.parse((await run('backups', '--json')).stdout) as { id: string }[];
      assert.equal(listed[0]?.id, first.backupId);
    }
    const total = async (): Promise<number> =>
      (await packs(repo)).reduce((sum, p) => sum + p.size, 0);
    const afterFirst = first.addedBytes as number;
    const uploadedByKilled = (await total()) - afterFirst;
    assert.ok(uploadedByKilled > 5 * 1024 * 1024, `killed runs uploaded ${uploadedByKilled}`);
    const next = await run('backup', 'src', '--json');
    assert.equal(next.code, 0, next.stderr);
    const nextSummary = summaryOf(next);
    // What the killed runs uploaded is reused: this backup adds only the rest of the 120 MiB.
    const added = Number(nextSummary.addedBytes);
    assert.ok(
      added + uploadedByKilled < 120 * 1024 * 1024 * 1.01 + 2 * 1024 * 1024,
      `added ${added} after ${uploadedByKilled} uploaded by killed runs`,
    );

    // Now kill prune at several points, after forgetting the big backup.
    assert.equal((await run('forget', String(nextSummary.backupId))).code, 0);
    for (const delay of [300, 700, 1100]) {
      const { child, done } = hbrProcess(['prune'], { env, cwd: work });
      let seen = '';
      child.stderr?.on('data', (d: Buffer) => (seen += d.toString()));
      while (!/finding live blobs/.test(seen) && child.exitCode === null) await sleep(10);
      await sleep(delay % 400);
      child.kill('SIGKILL');
      await done;
      const check = await run('check', '--read-data');
      assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
    }
    // What the killed writes left: temporary files, which prune removes once they are an hour
    // old (one made here too, as a put of an index object cut short leaves it, so that there is
    // one for sure).
    await writeFile(join(repo, 'index', '.tmp-cut-short'), 'partial');
    const hoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    const temporary = async (): Promise<string[]> =>
      (await readdir(repo, { recursive: true })).filter((p) =>
        p.split('/').at(-1)?.startsWith('.tmp-'),
      );
    for (const path of await temporary()) await utimes(join(repo, path), hoursAgo, hoursAgo);
    const left = (await temporary()).length;
    const prune = await run('prune');
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, new RegExp(`removed ${left} temporary file\\(s\\)`));
    assert.deepEqual(await temporary(), []);
    assert.equal((await run('check', '--read-data')).code, 0);
    const restored = await run('restore', String(first.backupId), '--target', 'out');
    assert.equal(restored.code, 0, restored.stderr);
    assert.ok(
      (await readFile(join(work, 'out', work, 'src', 'keep.bin'))).equals(
        await readFile(join(work, 'src', 'keep.bin')),
      ),
    );
    assert.ok(
      (await packs(repo)).reduce((s, p) => s + p.size, 0) < 8 * 1024 * 1024,
      'prune freed the big files',
    );
  });

  it('finds a flipped byte and a truncated pack, names them, and restores the unaffected files', async () => {
    const work = join(dir.path, 'rot');
    const repo = join(work, 'repo');
    const env = { HBR_REPOSITORY: repo, HBR_PASSWORD: 'pw' };
    const run = (...args: string[]) => hbr(args, { env, cwd: work });
    await mkdir(join(work, 'src'), { recursive: true });
    for (let i = 0; i < 8; i++)
      await writeFile(join(work, 'src', `f${i}.bin`), pseudoRandomBytes(1536 * 1024, 40 + i));
    assert.equal((await run('init', '--pack-size', '1')).code, 0);
    assert.equal((await run('backup', 'src')).code, 0);
    // Data packs (the tree pack is tiny); which files they hold depends on the keyed chunker.
    const data = (await packs(repo))
      .filter((p) => p.size > 1024 * 1024)
      .sort((a, b) => a.path.localeCompare(b.path));
    assert.ok(data.length >= 4, `expected several data packs, got ${data.length}`);
    const [flipped, truncated] = [data[0], data[1]];
    if (!flipped || !truncated) throw new Error('not enough packs');
    const bytes = await readFile(flipped.path);
    bytes[1000] = (bytes[1000] ?? 0) ^ 0x01;
    await writeFile(flipped.path, bytes);
    await truncate(truncated.path, truncated.size - 5000);
    const flippedId = flipped.path.slice(-64);
    const truncatedId = truncated.path.slice(-64);

    const check = await run('check', '--read-data');
    assert.equal(check.code, 4);
    assert.match(
      check.stdout,
      new RegExp(`pack ${flippedId}: content does not match its name; .*blobs fail verification`),
    );
    assert.match(check.stdout, new RegExp(`pack ${truncatedId} is truncated`));
    const affected = [...check.stdout.matchAll(/^ {12}(\S+)$/gm)].map((m) => m[1] ?? '');
    assert.ok(affected.length >= 1 && affected.length <= 4, check.stdout);

    const restore = await run('restore', 'latest', '--target', 'out');
    assert.equal(restore.code, 3);
    for (const path of affected)
      assert.match(
        restore.stdout + restore.stderr,
        new RegExp(`${path}.*(authentication failed|not match|beyond|range|shrank)`),
      );
    let intact = 0;
    for (let i = 0; i < 8; i++) {
      const name = join(work, 'src', `f${i}.bin`);
      if (affected.includes(name)) continue;
      assert.ok((await readFile(join(work, 'out', name))).equals(await readFile(name)));
      intact++;
    }
    assert.equal(intact, 8 - affected.length);
    for (const path of affected)
      await assert.rejects(stat(join(work, 'out', path)), { code: 'ENOENT' });
  });
});

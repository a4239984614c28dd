import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { BlobLocation } from '../../src/repository/master-index.ts';
import { summaryOf } from '../helpers/cli.ts';
import { cliRepository, type CliRepository } from '../helpers/cli-repository.ts';
import { flipStoredByte, storedObjects } from '../helpers/damage.ts';
import { nodeAt } from '../helpers/files-backup.ts';
import { pseudoRandomBytes } from '../helpers/temp.ts';
import { repairRepository } from '../../src/repository/repair.ts';
import type { Store } from '../../src/stores/types.ts';

// A damaged blob stays damaged in every later backup until it is taken out of the index (repair)
// and stored again by a backup that reads the file; these go through it as a user does. With the
// folder memo (an unchanged folder is not even listed again by a plain re-backup), and without.
for (const cached of [true, false])
  describe(`hbr repair, then a plain backup (${cached ? 'with' : 'without'} the folder memo)`, () => {
    const cli = cliRepository({
      env: (path) => (cached ? { HBR_CACHE_DIR: join(path, 'cache') } : {}),
    });
    const { run } = cli;
    let first: string;
    let damaged: { path: string; hex: string };

    before(async () => {
      await mkdir(join(cli.path, 'data', 'sub'), { recursive: true });
      await writeFile(join(cli.path, 'data', 'a.bin'), pseudoRandomBytes(300 * 1024, 1));
      await writeFile(join(cli.path, 'data', 'b.bin'), pseudoRandomBytes(300 * 1024, 2));
      await writeFile(join(cli.path, 'data', 'sub', 'c.txt'), 'c\n');
      first = await backup();
      const path = join(cli.path, 'data', 'a.bin');
      const where = await blobOf(cli, first, path);
      await flipStoredByte(join(cli.path, 'repo'), where);
      damaged = { path, hex: where.hex };
    });

    /** A backup of `data` with `flags`: its short id. */
    const backup = async (...flags: string[]): Promise<string> => {
      const result = await run('backup', 'data', '--json', ...flags);
      assert.equal(result.code, 0, result.stderr);
      return String(summaryOf(result).shortId);
    };
    /** Restores backup `id` into a fresh folder: the result, and whether each file came back whole. */
    const restore = async (id: string) => {
      const target = join(cli.path, `out-${id}-${Date.now()}`);
      const result = await run('restore', id, '--target', target);
      const whole: Record<string, boolean> = {};
      for (const name of ['a.bin', 'b.bin', join('sub', 'c.txt')]) {
        const source = join(cli.path, 'data', name);
        const back = await readFile(join(target, source)).catch(() => undefined);
        whole[name] = back?.equals(await readFile(source)) ?? false;
      }
      return { result, whole };
    };

    it('check --read-data finds the flipped byte (exit 4)', async () => {
      const check = await run('check', '--read-data');
      assert.equal(check.code, 4, check.stdout);
      assert.match(check.stdout, new RegExp(`blobs: ${damaged.hex.slice(0, 16)}`));
    });

    it('repair --dry-run names the blob and the backup, changes nothing, and exits 4', async () => {
      const before = await storedObjects(join(cli.path, 'repo'));
      const dry = await run('repair', '--dry-run', '--json');
      assert.equal(dry.code, 4, dry.stderr);
      const summary = summaryOf(dry);
      assert.deepEqual(summary.blobsDropped, [damaged.hex]);
      assert.deepEqual(summary.affected, [
        { backup: first, source: 'files', paths: [damaged.path] },
      ]);
      assert.match(String(summary.advice), /the next backup of the same data stores it again/);
      assert.deepEqual(await storedObjects(join(cli.path, 'repo')), before);
    });

    it('repair drops the blob, names the backup that stays damaged, and exits 3', async () => {
      const repair = await run('repair');
      assert.equal(repair.code, 3, repair.stderr);
      assert.match(
        repair.stdout,
        new RegExp(`Dropped: +1 blob\\(s\\) taken out of the index .*${damaged.hex.slice(0, 16)}`),
      );
      assert.match(
        repair.stdout,
        new RegExp(`Affected: backup ${first} \\(files\\):\\n +${damaged.path}\\n`),
      );
      assert.match(repair.stdout, /1 backup\(s\) remain damaged until healed/);
      // Every other blob is intact: check reads them all and finds only the dropped one missing.
      const check = await run('check', '--read-data');
      assert.equal(check.code, 4);
      assert.deepEqual(errorsOf(check.stdout), [
        `backup ${first}: ${damaged.path}: blob ${damaged.hex.slice(0, 16)} is in no index`,
      ]);
    });

    it('restore of the backup restores every other file and names the damaged one (exit 3)', async () => {
      const { result, whole } = await restore(first);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stdout + result.stderr, new RegExp(`${damaged.path}.*not in the index`));
      assert.deepEqual(whole, { 'a.bin': false, 'b.bin': true, [join('sub', 'c.txt')]: true });
    });

    it('prune deletes nothing the backup still needs', async () => {
      const prune = await run('prune', '--max-unused', '0');
      assert.equal(prune.code, 0, prune.stderr);
      const check = await run('check', '--read-data');
      assert.deepEqual(errorsOf(check.stdout), [
        `backup ${first}: ${damaged.path}: blob ${damaged.hex.slice(0, 16)} is in no index`,
      ]);
    });

    it('a plain backup of the unchanged folder reads the file whose blob was dropped, and heals every backup that needed it', async () => {
      const result = await run('backup', 'data', '--json');
      assert.equal(result.code, 0, result.stderr);
      const summary = summaryOf(result);
      assert.deepEqual(
        [summary.bytesRead, summary.newFiles, summary.unchangedFiles],
        [300 * 1024, 1, 2],
        'that file alone is read',
      );
      const check = await run('check', '--read-data');
      assert.equal(check.code, 0, check.stdout);
      const { result: restored, whole } = await restore(first);
      assert.equal(restored.code, 0, restored.stderr);
      assert.deepEqual(whole, { 'a.bin': true, 'b.bin': true, [join('sub', 'c.txt')]: true });
      const repair = await run('repair');
      assert.equal(repair.code, 0);
      assert.match(repair.stdout, /no damage was found/);
    });

    it('the next plain backup reads nothing; backup --reread reads every file and adds no data', async () => {
      const next = summaryOf(await run('backup', 'data', '--json'));
      assert.deepEqual([next.bytesRead, next.unchangedFiles], [0, 3]);
      const result = await run('backup', 'data', '--reread', '--json');
      assert.equal(result.code, 0, result.stderr);
      const summary = summaryOf(result);
      assert.equal(summary.reread, true);
      assert.equal(summary.bytesRead, 600 * 1024 + 2, 'every file read');
      assert.equal((await run('check', '--read-data')).code, 0);
    });
  });

for (const cached of [true, false])
  describe(`hbr repair of a folder listing (${cached ? 'with' : 'without'} the folder memo)`, () => {
    const cli = cliRepository({
      env: (path) => (cached ? { HBR_CACHE_DIR: join(path, 'cache') } : {}),
    });
    const { run } = cli;
    let first: string;
    let sub: string;

    before(async () => {
      sub = join(cli.path, 'data', 'sub');
      await mkdir(sub, { recursive: true });
      await writeFile(join(cli.path, 'data', 'a.txt'), 'a\n');
      await writeFile(join(sub, 'b.txt'), 'b\n');
      const result = await run('backup', 'data', '--json');
      first = String(summaryOf(result).shortId);
      const repo = await cli.open();
      const tree = (await repo.findBackup(first)).tree;
      const id = Buffer.from((await nodeAt(repo, tree, sub))?.subtree ?? '', 'hex');
      const where = (await repo.index()).get(id);
      assert.ok(where);
      await flipStoredByte(join(cli.path, 'repo'), where);
    });

    it('is reported as a lost folder; prune then refuses, naming the backup; a plain backup heals it', async () => {
      const repair = await run('repair');
      assert.equal(repair.code, 3, repair.stderr);
      assert.match(
        repair.stdout,
        new RegExp(`Affected: backup ${first} \\(files\\):\\n +${sub}/ \\(directory lost\\)`),
      );

      const prune = await run('prune');
      assert.equal(prune.code, 4);
      assert.match(
        prune.stderr,
        new RegExp(
          `backup ${first}: tree blob .*: not in the index: prune cannot tell which data the backup needs, so it deletes nothing`,
        ),
      );
      const restore = await run('restore', first, '--target', 'out');
      assert.equal(restore.code, 3);
      assert.match(restore.stdout + restore.stderr, new RegExp(`${sub}/: folder unreadable`));
      assert.equal(
        await stat(join(cli.path, 'out', cli.path, 'data', 'a.txt')).then(() => true),
        true,
      );

      const healing = await run('backup', 'data', '--json');
      assert.equal(healing.code, 0, healing.stderr);
      assert.deepEqual(summaryOf(healing).errors, [], 'the folder is backed up, not left out');
      assert.equal((await run('prune')).code, 0);
      assert.equal((await run('check', '--read-data')).code, 0);
      const again = await run('restore', first, '--target', 'again');
      assert.equal(again.code, 0, again.stderr);
      assert.equal(await readFile(join(cli.path, 'again', sub, 'b.txt'), 'utf8'), 'b\n');
    });
  });

describe('hbr repair after a repair killed as it deleted the damaged pack', () => {
  const cli = cliRepository();
  const { run } = cli;

  it('names the backup that still lacks the blob dropped the first time, and exits 3', async () => {
    await mkdir(join(cli.path, 'data'));
    const path = join(cli.path, 'data', 'a.bin');
    await writeFile(path, pseudoRandomBytes(300 * 1024, 1));
    const first = String(summaryOf(await run('backup', 'data', '--json')).shortId);
    const where = await blobOf(cli, first, path);
    await flipStoredByte(join(cli.path, 'repo'), where);
    // Killed once the old index objects are deleted, before the damaged pack is.
    const repo = await cli.open();
    const killed: Store = {
      ...repo.store,
      delete: (key, o) =>
        key.startsWith('data/') ? Promise.reject(new Error('killed')) : repo.store.delete(key, o),
    };
    await assert.rejects(repairRepository({ ...repo, store: killed }), /killed/);

    const again = await run('repair');
    assert.equal(again.code, 3, again.stdout);
    assert.match(again.stdout, new RegExp(`Affected: backup ${first} \\(files\\):\\n +${path}\\n`));
    assert.match(again.stdout, /repaired; 1 backup\(s\) remain damaged until healed/);
  });
});

// --- helpers ---

/** Where the first blob of the file at `path` of backup `id` is stored, and its hex id. */
async function blobOf(
  cli: CliRepository,
  id: string,
  path: string,
): Promise<BlobLocation & { hex: string }> {
  const repo = await cli.open();
  const node = await nodeAt(repo, (await repo.findBackup(id)).tree, path);
  const hex = node?.content?.[0] ?? '';
  const where = (await repo.index()).get(Buffer.from(hex, 'hex'));
  assert.ok(where, `a blob of ${path} is indexed`);
  return { ...where, hex };
}

/** The `ERROR:` lines of a check's output, without the prefix and the blob list. */
function errorsOf(stdout: string): string[] {
  return [...stdout.matchAll(/^ERROR: +(.*?)(?: \[blobs: .*\])?$/gm)].map((m) => m[1] ?? '');
}

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TreeNode } from '../../src/repository/index.ts';
import { hbr, summaryOf } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';
import { tempDir } from '../helpers/temp.ts';

// A re-backup reuses the parent's tree for folders where nothing changed; these check that any
// change deep down still reaches the new backup, with the local folder memo and without it.
for (const cached of [false, true])
  describe(`re-backing up a file tree${cached ? ', with the folder memo' : ''}`, () => {
    const cli = cliRepository({
      password: 'secret words',
      env: (path) => (cached ? { HBR_CACHE_DIR: join(path, 'cache') } : {}),
    });
    const { run } = cli;
    const backup = async (): Promise<string> => {
      const result = await run('backup', 'data', '--json');
      assert.equal(result.code, 0, result.stderr);
      return String(summaryOf(result).shortId);
    };
    const treeOf = async (shortId: string): Promise<string> => {
      const list = JSON.parse((await run('backups', '--json')).stdout) as {
        shortId: string;
        tree: string;
      }[];
      const found = list.find((b) => b.shortId === shortId);
      assert.ok(found, `backup ${shortId} listed`);
      return found.tree;
    };

    /** The tree id of the backed-up `data` folder, found down the backup's root tree. */
    const folderTreeOf = async (shortId: string): Promise<string | undefined> => {
      const repo = await cli.open();
      let tree: string | undefined = await treeOf(shortId);
      for (const name of join(cli.path, 'data').split(sep).filter(Boolean)) {
        const nodes: TreeNode[] = tree ? await repo.readTree(tree) : [];
        tree = nodes.find((node) => node.name === name)?.subtree;
      }
      return tree;
    };

    before(async () => {
      await mkdir(join(cli.path, 'data', 'a', 'b', 'c'), { recursive: true });
      await writeFile(join(cli.path, 'data', 'a', 'b', 'c', 'deep.txt'), 'deep\n');
      await writeFile(join(cli.path, 'data', 'a', 'b', 'other.txt'), 'other\n');
      await writeFile(join(cli.path, 'data', 'top.txt'), 'top\n');
    });

    it('stores the same tree again when nothing changed', async () => {
      const first = await backup();
      const second = await backup();
      assert.notEqual(first, second);
      const diff = await run('diff', first, second);
      assert.equal(diff.code, 0, diff.stderr);
      assert.doesNotMatch(diff.stdout, /^[-+MTU] {2}/m, 'nothing in the folder changed');
      // The backed-up folder's ancestors are in the root tree too, and other processes change the
      // temp folder's time: the folder's own tree is what must be the same.
      const folder = await folderTreeOf(first);
      assert.match(folder ?? '', /^[0-9a-f]{64}$/);
      assert.equal(await folderTreeOf(second), folder);
    });

    it('records a permission change deep in the tree', async () => {
      const before = await backup();
      await chmod(join(cli.path, 'data', 'a', 'b', 'c', 'deep.txt'), 0o600);
      const after = await backup();
      assert.notEqual(await treeOf(after), await treeOf(before));
      const diff = await run('diff', before, after);
      assert.match(diff.stdout, /^U {2}.*deep\.txt {2}\(mode\)$/m);
    });

    it('records a file rewritten to its old size and mtime (only its ctime moved)', async () => {
      // As `touch -r` or `cp -p` from another version leave it: same size, mtime and inode.
      const file = join(cli.path, 'data', 'a', 'b', 'c', 'deep.txt');
      const mtime = new Date('2026-01-02T03:04:05Z');
      await writeFile(file, 'deep\n');
      await utimes(file, mtime, mtime);
      const before = await backup();
      await writeFile(file, 'DEEP\n');
      await utimes(file, mtime, mtime);
      const after = await backup();
      const diff = await run('diff', before, after);
      assert.match(diff.stdout, /^M {2}.*deep\.txt$/m);
      const target = join(cli.path, `rewritten-${String(cached)}`);
      const back = await run('restore', after, '--target', target, '--include', file);
      assert.equal(back.code, 0, back.stderr);
      assert.equal(await readFile(join(target, file), 'utf8'), 'DEEP\n');
    });

    it('with --reread, reads every file again and stores the same folder; the next backup reads nothing', async () => {
      const before = await backup();
      const result = await run('backup', 'data', '--reread', '--json');
      assert.equal(result.code, 0, result.stderr);
      const reread = summaryOf(result);
      assert.equal(reread.reread, true);
      assert.ok(Number(reread.bytesRead) > 0);
      assert.equal(reread.bytesRead, reread.totalBytes, 'every file read');
      assert.equal(await folderTreeOf(String(reread.shortId)), await folderTreeOf(before));
      const after = summaryOf(await run('backup', 'data', '--json'));
      assert.deepEqual([after.bytesRead, after.unchangedFiles], [0, reread.totalFiles]);
    });

    it('with --ignore-ctime, does not read a file whose ctime alone moved; without, reads it', async () => {
      const file = join(cli.path, 'data', 'a', 'b', 'other.txt');
      await writeFile(file, 'other\n');
      await backup();
      const { ctimeNs, mode } = await stat(file, { bigint: true });
      do {
        await new Promise((resolve) => setTimeout(resolve, 5));
        await chmod(file, Number(mode & 0o7777n)); // the same mode: only the ctime moves
      } while ((await stat(file, { bigint: true })).ctimeNs === ctimeNs);
      const summaryWith = async (...flags: string[]) => {
        const result = await run('backup', 'data', '--json', ...flags);
        assert.equal(result.code, 0, result.stderr);
        return summaryOf(result);
      };
      assert.equal((await summaryWith('--ignore-ctime')).bytesRead, 0);
      assert.equal((await summaryWith()).bytesRead, 'other\n'.length);
    });

    it('after --ignore-ctime took in a mode change, the next backup still reads a rewrite it missed', async () => {
      const file = join(cli.path, 'data', 'a', 'rewritten.txt');
      const mtime = new Date('2026-02-03T04:05:06Z');
      await writeFile(file, 'AAAA');
      await utimes(file, mtime, mtime);
      await backup();
      // Rewritten to the same size and mtime, then its mode changed: --ignore-ctime takes the
      // old content with the new mode, as it must; a backup without it must read the file.
      await writeFile(file, 'BBBB');
      await utimes(file, mtime, mtime);
      await chmod(file, 0o600);
      assert.equal((await run('backup', 'data', '--ignore-ctime')).code, 0);
      const after = await backup();
      const target = join(cli.path, `after-ignored-${String(cached)}`);
      const back = await run('restore', after, '--target', target, '--include', file);
      assert.equal(back.code, 0, back.stderr);
      assert.equal(await readFile(join(target, file), 'utf8'), 'BBBB');
    });

    it('records a file removed deep in the tree', async () => {
      const before = await backup();
      await rm(join(cli.path, 'data', 'a', 'b', 'other.txt'));
      const after = await backup();
      const diff = await run('diff', before, after);
      assert.match(diff.stdout, /^- {2}.*other\.txt$/m);
      const listing = await run('ls', after);
      assert.doesNotMatch(listing.stdout, /other\.txt/);
      assert.match(listing.stdout, /deep\.txt/);
    });
  });

describe('the folder memo of files backups', () => {
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => {
    dir = await tempDir();
    await mkdir(join(dir.path, 'data', 'sub'), { recursive: true });
    await writeFile(join(dir.path, 'data', 'sub', 'a.txt'), 'a\n');
  });
  after(async () => dir.remove());
  const memoFiles = async (cache: string): Promise<string[]> =>
    (await readdir(cache, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));

  it('is kept under HBR_CACHE_DIR, else XDG_CACHE_HOME or HOME, and not with --no-cache', async () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{ HBR_CACHE_DIR: 'own', XDG_CACHE_HOME: 'xdg', HOME: 'home' }, 'own'],
      [{ XDG_CACHE_HOME: 'xdg', HOME: 'home' }, join('xdg', 'hbr')],
      [{ HOME: 'home' }, join('home', '.cache', 'hbr')],
    ];
    for (const [i, [where, cache]] of cases.entries()) {
      const env = {
        HBR_REPOSITORY: join(dir.path, 'repo'),
        HBR_PASSWORD: 'pw',
        ...where,
      };
      const run = (...args: string[]) => hbr(args, { env, cwd: dir.path });
      if (!existsSync(join(dir.path, 'repo'))) assert.equal((await run('init')).code, 0);
      assert.equal((await run('backup', 'data', '--no-cache')).code, 0);
      assert.deepEqual(await memoFiles(join(dir.path, cache)).catch(() => []), [], 'none');
      const first = await run('backup', 'data', '--json');
      assert.equal(first.code, 0, first.stderr);
      const [file, ...others] = await memoFiles(join(dir.path, cache));
      assert.ok(file && others.length === 0, `one memo under ${cache}`);
      // Taken by the next backup, which still sees a change.
      await writeFile(join(dir.path, 'data', 'sub', 'a.txt'), `changed under ${cache}\n`);
      const second = await run('backup', 'data', '--json');
      assert.equal(summaryOf(second).changedFiles, 1, second.stderr);
      const third = await run('backup', 'data', '--json');
      assert.deepEqual([summaryOf(third).newFiles, summaryOf(third).changedFiles], [0, 0]);
      // A damaged memo is a missing one.
      await writeFile(file, 'not a memo');
      await writeFile(join(dir.path, 'data', 'sub', `new-${i}.txt`), `new under ${cache}\n`);
      const fourth = await run('backup', 'data', '--json');
      assert.equal(summaryOf(fourth).newFiles, 1, fourth.stderr);
      const listing = await run('ls', 'latest');
      assert.match(listing.stdout, new RegExp(`new-${i}\\.txt`));
    }
  });
});

describe('backup --reread of a database source', () => {
  const cli = cliRepository();
  it('is refused: a database backup reads its whole stream every time', async () => {
    await writeFile(
      join(cli.path, 'hbr.yaml'),
      'sources:\n  - name: graph\n    neo4j: { home: /nonexistent, bolt: "bolt://127.0.0.1:1", database: neo4j }\n',
    );
    const refused = await cli.run('backup', '--source', 'graph', '--reread');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--reread is for files backups; graph is a neo4j source/);
  });
});

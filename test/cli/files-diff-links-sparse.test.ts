import assert from 'node:assert/strict';
import { link, mkdir, open, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startSession, type TreeNode } from '../../src/repository/index.ts';
import { summaryOf } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';
import { pseudoRandomBytes } from '../helpers/temp.ts';

const MiB = 1024 * 1024;
const MTIME = new Date('2026-03-04T05:06:07Z');

// `ln` moves a file's ctime and link count only, and punching holes (or filling them) with the
// mtime kept changes its allocation only: diff shows them as it shows a mode change.
describe('hbr diff of a file whose link count or sparseness alone changed', () => {
  const cli = cliRepository();
  const { run } = cli;
  const data = (...names: string[]): string => join(cli.path, 'data', ...names);
  const backup = async (): Promise<string> => {
    const result = await run('backup', 'data', '--json');
    assert.equal(result.code, 0, result.stderr);
    return String(summaryOf(result).shortId);
  };
  /** The diff's text lines, and its `--json` changes, below `data`. */
  const diff = async (from: string, to: string) => {
    const text = await run('diff', from, to);
    assert.equal(text.code, 0, text.stderr);
    const json = await run('diff', from, to, '--json');
    assert.equal(json.code, 0, json.stderr);
    const { changes } = JSON.parse(json.stdout) as { changes: { path: string }[] };
    return {
      lines: text.stdout.split('\n').filter((line) => line.includes(data())),
      summary: text.stdout.trim().split('\n').at(-1),
      changes: changes.filter((c) => c.path.startsWith(data())),
    };
  };
  /** Whether `disk.img` has holes: fewer bytes allocated than its size. */
  const holes = async (): Promise<boolean> => {
    const st = await stat(data('disk.img'));
    return st.blocks * 512 < st.size;
  };

  before(async () => {
    await mkdir(data());
    await writeFile(data('a.txt'), 'a');
    // 1 MiB of data then 4 MiB of zeros, written: allocated, no holes.
    await writeFile(
      data('disk.img'),
      Buffer.concat([pseudoRandomBytes(MiB, 5), Buffer.alloc(4 * MiB)]),
    );
    await utimes(data('disk.img'), MTIME, MTIME);
  });

  it('shows a file given a hard link, and one whose other link was removed, as U', async () => {
    const first = await backup();
    await link(data('a.txt'), data('b.txt'));
    const linked = await backup();
    const added = await diff(first, linked);
    assert.deepEqual(added.lines, [`U  ${data('a.txt')}  (links)`, `+  ${data('b.txt')}`]);
    assert.equal(added.summary, '1 added, 0 removed, 0 modified, 0 type changed, 1 metadata only');
    assert.deepEqual(added.changes, [
      { path: data('a.txt'), change: 'U', changed: ['links'] },
      { path: data('b.txt'), change: '+' },
    ]);

    await rm(data('b.txt'));
    const unlinked = await backup();
    const removed = await diff(linked, unlinked);
    assert.deepEqual(removed.lines, [`U  ${data('a.txt')}  (links)`, `-  ${data('b.txt')}`]);
    assert.deepEqual(removed.changes, [
      { path: data('a.txt'), change: 'U', changed: ['links'] },
      { path: data('b.txt'), change: '-' },
    ]);
  });

  it('shows a file made sparse, or filled again, with the same content and mtime, as U', async () => {
    assert.equal(await holes(), false);
    const whole = await backup();
    // Cut to its data and grown back: the same bytes, the zeros now a hole.
    const file = await open(data('disk.img'), 'r+');
    await file.truncate(MiB);
    await file.truncate(5 * MiB);
    await file.close();
    await utimes(data('disk.img'), MTIME, MTIME);
    assert.equal(await holes(), true);
    const sparse = await backup();
    const punched = await diff(whole, sparse);
    assert.deepEqual(punched.lines, [`U  ${data('disk.img')}  (sparse)`]);
    assert.deepEqual(punched.changes, [
      { path: data('disk.img'), change: 'U', changed: ['sparse'] },
    ]);

    // The zeros written over the hole: allocated again.
    const again = await open(data('disk.img'), 'r+');
    await again.write(Buffer.alloc(4 * MiB), 0, 4 * MiB, MiB);
    await again.close();
    await utimes(data('disk.img'), MTIME, MTIME);
    assert.equal(await holes(), false);
    const filled = await diff(sparse, await backup());
    assert.deepEqual(filled.lines, [`U  ${data('disk.img')}  (sparse)`]);
    assert.deepEqual(filled.changes, [
      { path: data('disk.img'), change: 'U', changed: ['sparse'] },
    ]);
  });

  it('does not show a count or sparseness against a backup made before hbr recorded them', async () => {
    await link(data('a.txt'), data('c.txt'));
    const file = await open(data('disk.img'), 'r+');
    await file.truncate(MiB);
    await file.truncate(5 * MiB);
    await file.close();
    await utimes(data('disk.img'), MTIME, MTIME);
    const now = await backup();

    // The same files backed up as an older hbr stored them: no `links`, no `sparse`, and a
    // manifest that does not list them as recorded.
    const repo = await cli.open();
    const listed = JSON.parse((await run('backups', '--json')).stdout) as {
      shortId: string;
      tree: string;
    }[];
    const tree = listed.find((b) => b.shortId === now)?.tree;
    assert.ok(tree);
    const session = await startSession(repo);
    const strip = async (id: string): Promise<string> =>
      session.saveTree(
        await Promise.all(
          (await repo.readTree(id)).map(async (node): Promise<TreeNode> => {
            const { links: _links, sparse: _sparse, ...rest } = node;
            return node.subtree ? { ...rest, subtree: await strip(node.subtree) } : rest;
          }),
        ),
      );
    const old = await session.commitTree(
      await strip(tree),
      {
        source: 'old',
        kind: 'files',
        type: 'snapshot',
        startedAt: new Date(),
        paths: [data()],
        meta: { newFiles: 0, changedFiles: 0, unchangedFiles: 3, bytesRead: 0 },
      },
      { files: 3, bytes: 5 * MiB + 2 },
    );

    for (const [from, to] of [
      [old.shortId, now],
      [now, old.shortId],
    ] as const) {
      const { lines, changes } = await diff(from, to);
      assert.deepEqual([lines, changes], [[], []], `${from} → ${to}`);
    }
  });
});

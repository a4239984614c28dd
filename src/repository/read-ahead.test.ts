import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SLOW_READ_MS, readAhead, readAheadPolicy } from './read-ahead.ts';

describe('read-ahead policy', () => {
  const paths = ['a', 'b', 'c', 'd'];
  const others = paths.slice(1);
  const fast = SLOW_READ_MS / 10;
  const slow = SLOW_READ_MS * 10;

  it('reads nothing ahead while first reads are fast, or slow only now and then', () => {
    const policy = readAheadPolicy();
    for (const ms of [fast, slow, fast, fast, slow, fast]) {
      assert.deepEqual(policy.onReceive(paths), []);
      assert.deepEqual(policy.afterFirst(ms, others), []);
    }
  });

  it('reads the rest ahead at the second slow first read in a row, then all but the first on arrival', () => {
    const policy = readAheadPolicy();
    assert.deepEqual(policy.afterFirst(slow, others), []);
    assert.deepEqual(policy.onReceive(paths), []);
    assert.deepEqual(policy.afterFirst(slow, others), others);
    assert.deepEqual(policy.onReceive(paths), others, 'the first file is read to tell');
    assert.deepEqual(policy.afterFirst(slow, []), [], 'read ahead on arrival already');
    assert.deepEqual(policy.onReceive(paths), others);
  });

  it('stops reading ahead once a first read is fast again', () => {
    const policy = readAheadPolicy();
    policy.afterFirst(slow, others);
    policy.afterFirst(slow, others);
    assert.deepEqual(policy.onReceive(paths), others);
    assert.deepEqual(policy.afterFirst(fast, []), []);
    assert.deepEqual(policy.onReceive(paths), []);
    assert.deepEqual(policy.afterFirst(slow, others), [], 'one slow read is not enough again');
  });
});

describe('readAhead', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-read-ahead-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const openFds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;

  it('reads files and closes every one it opened, leaving them unchanged', async () => {
    const paths: string[] = [];
    for (let i = 0; i < 20; i++) {
      const path = join(dir, `file-${i}.json`);
      await writeFile(path, `{"n":${i}}`.repeat(100 * (i + 1)));
      paths.push(path);
    }
    const fdsBefore = await openFds();
    await readAhead(paths, Buffer.alloc(64 * 1024));
    assert.equal(await openFds(), fdsBefore);
    assert.equal(await readFile(paths[3] as string, 'utf8'), '{"n":3}'.repeat(400));
  });

  it('skips what it cannot read without waiting: missing paths, folders, FIFOs', async () => {
    const folder = join(dir, 'folder');
    await mkdir(folder);
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]); // no writer: opening it to read without O_NONBLOCK would hang
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    const fdsBefore = await openFds();
    await readAhead([join(dir, 'missing'), folder, fifo, file], Buffer.alloc(4096));
    assert.equal(await openFds(), fdsBefore);
  });
});

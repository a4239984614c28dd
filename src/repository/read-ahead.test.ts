import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  PROBE_EVERY,
  SLOW_IN_A_ROW,
  SLOW_READ_MS,
  readAhead,
  readAheadPolicy,
} from './read-ahead.ts';

describe('read-ahead policy', () => {
  const paths = ['a', 'b', 'c', 'd'];
  const others = paths.slice(1);
  const fast = SLOW_READ_MS / 10;
  const slow = SLOW_READ_MS * 10;

  /** A policy that has just taken the files to come from the device. */
  const fromDevice = (): ReturnType<typeof readAheadPolicy> => {
    const policy = readAheadPolicy();
    for (let i = 1; i < SLOW_IN_A_ROW; i++) {
      assert.deepEqual(policy.afterFirst(slow, others), []);
      assert.deepEqual(policy.onReceive(paths), []);
    }
    assert.deepEqual(policy.afterFirst(slow, others), others);
    return policy;
  };

  it('reads nothing ahead while first reads are fast, or slow only now and then', () => {
    const policy = readAheadPolicy();
    const now = Array.from({ length: SLOW_IN_A_ROW - 1 }, () => slow);
    for (const ms of [fast, ...now, fast, fast, ...now, fast]) {
      assert.deepEqual(policy.onReceive(paths), []);
      assert.deepEqual(policy.afterFirst(ms, others), []);
    }
  });

  it('reads the rest ahead at enough slow first reads in a row, then whole requests on arrival', () => {
    const policy = fromDevice();
    for (let i = 1; i < PROBE_EVERY; i++) assert.deepEqual(policy.onReceive(paths), paths);
  });

  it('leaves one request in PROBE_EVERY its first file to read, and goes on while that is slow', () => {
    const policy = fromDevice();
    const received = Array.from({ length: 2 * PROBE_EVERY }, () => policy.onReceive(paths));
    assert.equal(received.filter((ahead) => ahead.length === others.length).length, 2);
    assert.equal(
      received.filter((ahead) => ahead.length === paths.length).length,
      2 * PROBE_EVERY - 2,
    );
    assert.deepEqual(policy.afterFirst(slow, []), [], 'the probe had the others read ahead');
    assert.deepEqual(policy.onReceive(paths), paths);
  });

  it('stops reading ahead once a probe reads its first file fast', () => {
    const policy = fromDevice();
    for (let i = 1; i < PROBE_EVERY; i++) policy.onReceive(paths);
    assert.deepEqual(policy.onReceive(paths), others, 'the probe');
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

  /**
   * What this process holds open in the test's folder. Not a count of every descriptor: other
   * work of the process (a worker thread ending) opens and closes its own meanwhile.
   */
  const openInDir = async (): Promise<string[]> => {
    const targets = await Promise.all(
      (await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
    );
    return targets.filter((target) => target.startsWith(`${dir}/`));
  };

  it('reads files and closes every one it opened, leaving them unchanged', async () => {
    const paths: string[] = [];
    for (let i = 0; i < 20; i++) {
      const path = join(dir, `file-${i}.json`);
      await writeFile(path, `{"n":${i}}`.repeat(100 * (i + 1)));
      paths.push(path);
    }
    await readAhead(paths, Buffer.alloc(64 * 1024));
    assert.deepEqual(await openInDir(), []);
    assert.equal(await readFile(paths[3] as string, 'utf8'), '{"n":3}'.repeat(400));
  });

  it('skips what it cannot read without waiting: missing paths, folders, FIFOs', async () => {
    const folder = join(dir, 'folder');
    await mkdir(folder);
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]); // no writer: opening it to read without O_NONBLOCK would hang
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    await readAhead([join(dir, 'missing'), folder, fifo, file], Buffer.alloc(4096));
    assert.deepEqual(await openInDir(), []);
  });
});

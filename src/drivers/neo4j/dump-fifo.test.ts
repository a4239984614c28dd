import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import { makeDumpFifos, type DumpFifos } from './dump-fifo.ts';

const LIMIT = 8 * 1024 * 1024;

/** Runs `body` with pipes for `databases`, removed afterwards. */
async function withFifos(
  databases: string[],
  body: (fifos: DumpFifos) => Promise<void>,
): Promise<void> {
  const fifos = await makeDumpFifos(databases);
  assert.ok(fifos, 'mkfifo is available on this platform');
  try {
    await body(fifos);
  } finally {
    await fifos.remove();
  }
}

test('a writer process fills the pipes; each reader ends after release once the writer is done', async () => {
  await withFifos(['neo4j', 'system'], async (fifos) => {
    assert.deepEqual((await readdir(fifos.dir)).sort(), ['neo4j.dump', 'system.dump']);
    assert.ok((await stat(join(fifos.dir, 'neo4j.dump'))).isFIFO());
    const neo4j = fifos.open('neo4j', LIMIT);
    const system = fifos.open('system', LIMIT);
    const read = Promise.all([buffer(neo4j.stream), buffer(system.stream)]);
    // Like `dump '*'`: one process writes the files one after the other.
    const writer = spawn(
      'sh',
      [
        '-c',
        'head -c 300000 /dev/zero > "$1/neo4j.dump"; printf sys > "$1/system.dump"',
        'w',
        fifos.dir,
      ],
      { stdio: 'ignore' },
    );
    await once(writer, 'exit');
    neo4j.release();
    system.release();
    const [a, b] = await read;
    assert.equal(a.length, 300_000);
    assert.equal(b.toString(), 'sys');
  });
});

test('a pipe nobody writes to ends empty after release, without waiting for a writer', async () => {
  await withFifos(['neo4j'], async (fifos) => {
    const pipe = fifos.open('neo4j', LIMIT);
    const read = buffer(pipe.stream);
    pipe.release();
    pipe.release(); // idempotent
    assert.equal((await read).length, 0);
  });
});

test('a writer does not wait for a busy main thread: its own thread drains the pipe', async () => {
  await withFifos(['neo4j'], async (fifos) => {
    const pipe = fifos.open('neo4j', LIMIT);
    const thread = await pipe.thread;
    if (process.platform === 'linux') {
      assert.ok(Number.isInteger(thread) && thread !== process.pid, `drain thread ${thread}`);
    }
    const done = join(fifos.dir, 'written');
    // 4 MiB: 64 times what the pipe holds. A reader on this thread would read none of it below.
    const writer = spawn(
      'sh',
      ['-c', 'head -c 4194304 /dev/zero > "$1/neo4j.dump" && touch "$1/written"', 'w', fifos.dir],
      { stdio: 'ignore' },
    );
    await once(writer, 'spawn');
    // The main thread busy, as while it stores: no event of this thread runs meanwhile.
    const giveUpAt = Date.now() + 30_000;
    while (!existsSync(done) && Date.now() < giveUpAt);
    assert.ok(existsSync(done), 'the writer finished while the main thread was busy');
    pipe.release();
    assert.equal((await buffer(pipe.stream)).length, 4 * 1024 * 1024);
  });
});

test('the drain holds at most its limit ahead of the reader; the writer waits, then all arrives', async () => {
  await withFifos(['neo4j'], async (fifos) => {
    const limit = 1024 * 1024;
    const pipe = fifos.open('neo4j', limit);
    const writer = spawn(
      'sh',
      ['-c', 'head -c 16777216 /dev/urandom > "$1/neo4j.dump"', 'w', fifos.dir],
      {
        stdio: 'ignore',
      },
    );
    let exited = false;
    const exit = once(writer, 'exit').then(() => (exited = true));
    // Nothing reads the stream for a while: 16 MiB cannot fit in the limit, a block and the pipe.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(exited, false, 'the writer is held back while the reader lags');
    const read = buffer(pipe.stream);
    await exit;
    pipe.release();
    assert.equal((await read).length, 16 * 1024 * 1024);
  });
});

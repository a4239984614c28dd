import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import { makeDumpFifos } from './dump-fifo.ts';

test('a writer process fills the pipes; each reader ends after release once the writer is done', async () => {
  const fifos = await makeDumpFifos(['neo4j', 'system']);
  assert.ok(fifos, 'mkfifo is available on this platform');
  try {
    assert.deepEqual((await readdir(fifos.dir)).sort(), ['neo4j.dump', 'system.dump']);
    assert.ok((await stat(join(fifos.dir, 'neo4j.dump'))).isFIFO());
    const neo4j = fifos.open('neo4j');
    const system = fifos.open('system');
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
  } finally {
    await fifos.remove();
  }
});

test('a pipe nobody writes to ends empty after release, without waiting for a writer', async () => {
  const fifos = await makeDumpFifos(['neo4j']);
  assert.ok(fifos);
  try {
    const pipe = fifos.open('neo4j');
    const read = buffer(pipe.stream);
    pipe.release();
    pipe.release(); // idempotent
    assert.equal((await read).length, 0);
  } finally {
    await fifos.remove();
  }
});

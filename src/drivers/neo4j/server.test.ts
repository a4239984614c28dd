import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SourceError } from '../../errors.ts';
import { lowerOwnPriority } from './priority.ts';
import { createNeo4jServer } from './server.ts';

/**
 * A server whose start command writes its own niceness into `<dir>/nice-<n>` and whose Bolt
 * never answers (port 1), so `start` fails at once after running the command.
 */
function recordingServer(dir: string) {
  let n = 0;
  const niceness = `read -r pid comm state ppid pgrp sid tty tpgid flags a b c d e f g h prio nice rest < /proc/$$/stat; echo "$nice" > "$0"`;
  return {
    server: (file: string) =>
      createNeo4jServer({
        home: dir,
        bolt: { url: 'bolt://127.0.0.1:1', user: 'neo4j', password: 'x' },
        startCommand: ['sh', '-c', niceness, join(dir, file)],
        startTimeoutMs: 1,
      }),
    next: () => `nice-${++n}`,
  };
}

test('a held start runs at the priority the process had when it was held, not the lower one it has when run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hbr-held-start-'));
  const before = getPriority(0);
  try {
    const { server, next } = recordingServer(dir);
    const heldFile = next();
    const heldServer = server(heldFile);
    const held = heldServer.holdStart();
    const raise = lowerOwnPriority(Math.min(before + 5, 19));
    try {
      await assert.rejects(heldServer.start({ held }), SourceError); // Bolt never answers
      const freshFile = next();
      await assert.rejects(server(freshFile).start(), SourceError);
      assert.equal(Number(await readFile(join(dir, heldFile), 'utf8')), before);
      assert.equal(
        Number(await readFile(join(dir, freshFile), 'utf8')),
        Math.min(before + 5, 19),
        'a start spawned after the step back inherits it',
      );
    } finally {
      raise(); // back up where permitted (root)
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a cancelled held start never runs its command', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hbr-held-start-'));
  try {
    const { server, next } = recordingServer(dir);
    const file = next();
    const held = server(file).holdStart();
    held.cancel();
    held.cancel(); // idempotent
    await new Promise((resolve) => setTimeout(resolve, 300));
    await assert.rejects(readFile(join(dir, file)), { code: 'ENOENT' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a pid file naming another process (the pid of a crashed server, reused) stops nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hbr-stale-pid-'));
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    await mkdir(join(dir, 'run'));
    await writeFile(join(dir, 'run', 'neo4j.pid'), `${other.pid}\n`);
    const server = createNeo4jServer({
      home: dir,
      bolt: { url: 'bolt://127.0.0.1:1', user: 'neo4j', password: 'x' },
    });
    assert.equal(await server.pid(), undefined);
    await server.stop();
    assert.equal(other.exitCode, null);
    assert.equal(other.signalCode, null, 'sleep was not sent SIGTERM');
  } finally {
    other.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

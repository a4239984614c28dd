/**
 * Ctrl-C twice: the first aborts the command, the second ends a command that does not stop (a
 * store that accepts connections and never answers), as users expect of a second Ctrl-C.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hbrProcess } from '../helpers/cli.ts';

describe('hbr and a second Ctrl-C', () => {
  const sockets: Socket[] = [];
  let accepted: () => void;
  const connected = new Promise<void>((resolve) => (accepted = resolve));
  const silent = createServer((socket) => {
    sockets.push(socket); // held open, never answered
    accepted();
  });
  let port: number;

  before(async () => {
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    port = (silent.address() as { port: number }).port;
  });
  after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });

  it('ends a command stuck on a store that never answers', async () => {
    const { child, done } = hbrProcess(
      ['--repo', `s3://bucket/p?endpoint=http://127.0.0.1:${port}&region=us-east-1`, 'backups'],
      { env: { HBR_PASSWORD: 'pw', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' } },
    );
    await connected;
    child.kill('SIGINT');
    await sleep(500);
    child.kill('SIGINT');
    const ended = await Promise.race([done, sleep(60_000).then(() => undefined)]);
    if (ended === undefined) child.kill('SIGKILL');
    assert.ok(ended, 'still running 60 s after a second SIGINT');
    // Ended by SIGINT raised again (a shell shows 130), or exit code 130 (interrupted).
    assert.ok(child.signalCode === 'SIGINT' || ended.code === 130, ended.stderr);
  });
});

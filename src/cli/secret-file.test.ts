import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { MAX_SECRET_FILE_BYTES, readSecretFile, SecretFileError } from './secret-file.ts';

void describe('readSecretFile', () => {
  void it('reads a file up to the limit and refuses one byte more', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hbr-secret-'));
    try {
      const signal = new AbortController().signal;
      await writeFile(join(dir, 'at'), Buffer.alloc(MAX_SECRET_FILE_BYTES, 1));
      assert.equal((await readSecretFile(join(dir, 'at'), signal)).length, MAX_SECRET_FILE_BYTES);
      await writeFile(join(dir, 'over'), Buffer.alloc(MAX_SECRET_FILE_BYTES + 1, 1));
      await assert.rejects(
        readSecretFile(join(dir, 'over'), signal),
        (error) => error instanceof SecretFileError && error.tooLarge,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it('reads nothing once the signal aborted, and says so', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(readSecretFile('/no/such/file', controller.signal), {
      name: 'InterruptedError',
      message: 'interrupted before reading /no/such/file',
    });
  });

  void it('gives up on a FIFO without a writer when the signal aborts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hbr-secret-'));
    const pipe = join(dir, 'fifo');
    execFileSync('mkfifo', [pipe]);
    try {
      const controller = new AbortController();
      const reading = readSecretFile(pipe, controller.signal);
      controller.abort();
      await assert.rejects(reading, { name: 'InterruptedError' });
    } finally {
      // The open left behind still waits for a writer: give it one, so this process can end.
      for (;;) {
        try {
          await (await open(pipe, constants.O_WRONLY | constants.O_NONBLOCK)).close();
          break;
        } catch {
          await sleep(20);
        }
      }
      await rm(dir, { recursive: true, force: true });
    }
  });
});

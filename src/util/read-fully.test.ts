import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readFully, readFullyAsync } from './read-fully.ts';

void describe('readFully / readFullyAsync', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hbr-read-fully-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const path = join(dir, 'file');
  writeFileSync(path, data);

  for (const [name, read] of [
    ['readFully', (...a: Parameters<typeof readFully>) => Promise.resolve(readFully(...a))],
    ['readFullyAsync', readFullyAsync],
  ] as const) {
    void it(`${name} reads a range into the given place, and stops only at the end of the file`, async () => {
      const fd = openSync(path, 'r');
      try {
        const into = Buffer.alloc(2 * 1024 * 1024 + 8);
        assert.equal(await read(fd, into, 8, 2 * 1024 * 1024, 1000), 2 * 1024 * 1024);
        assert.deepEqual(into.subarray(8), data.subarray(1000, 1000 + 2 * 1024 * 1024));
        assert.deepEqual(into.subarray(0, 8), Buffer.alloc(8));
        // Past the end: what there is, then zero.
        const tail = Buffer.alloc(100);
        assert.equal(await read(fd, tail, 0, 100, data.length - 40), 40);
        assert.deepEqual(tail.subarray(0, 40), data.subarray(data.length - 40));
        assert.equal(await read(fd, tail, 0, 100, data.length + 5), 0);
      } finally {
        closeSync(fd);
      }
    });
  }

  void it('readFullyAsync rejects with the error of a failed read', async () => {
    const fd = openSync(dir, 'r'); // a folder opens, but does not read
    try {
      await assert.rejects(readFullyAsync(fd, Buffer.alloc(10), 0, 10, 0), { code: 'EISDIR' });
    } finally {
      closeSync(fd);
    }
  });
});

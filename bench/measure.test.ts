import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SourceError } from '../src/errors.ts';
import { measure } from './measure.ts';

void describe('measure', () => {
  let dir: string;
  const signal = new AbortController().signal;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-bench-measure-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('counts the peak RSS and CPU of a grandchild process', async () => {
    // The shell waits for node, which touches 200 MB: only a wait4-based measure sees it.
    const script =
      'const b = Buffer.alloc(200e6, 1); let s = 0; for (let i = 0; i < 4e8; i++) s += i; console.log(b[0] + s);';
    const result = await measure(
      { file: 'sh', args: ['-c', `"${process.execPath}" -e '${script}'; true`] },
      join(dir, 'rss.log'),
      signal,
    );
    assert.ok(result.peakRssBytes >= 200e6, `peak RSS ${result.peakRssBytes}`);
    assert.ok(result.userSeconds + result.systemSeconds > 0, 'CPU time');
    assert.ok(result.wallSeconds > 0);
    assert.match(await readFile(join(dir, 'rss.log'), 'utf8'), /^\$ sh -c/);
  });

  void it('throws a SourceError quoting the log when the command fails', async () => {
    await assert.rejects(
      measure(
        { file: 'sh', args: ['-c', 'echo disk on fire >&2; exit 3'] },
        join(dir, 'fail.log'),
        signal,
      ),
      (error: unknown) =>
        error instanceof SourceError &&
        /exit 3/.test(error.message) &&
        /disk on fire/.test(error.message),
    );
  });
});

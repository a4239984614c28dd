import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../../test/helpers/temp.ts';
import { readSmallFile } from './read-small-file.ts';

describe('readSmallFile', () => {
  it('reads a regular file, and refuses what took its place: a link, a FIFO', async () => {
    const dir = await tempDir();
    try {
      const file = join(dir.path, 'file');
      await writeFile(file, 'x'.repeat(300_000));
      const read = readSmallFile(file);
      assert.equal(read.data.toString(), 'x'.repeat(300_000));
      assert.equal(read.before.size, 300_000n);
      // A link to a file outside the backup would store that file under this name.
      await symlink(file, join(dir.path, 'link'));
      assert.throws(() => readSmallFile(join(dir.path, 'link')), { code: 'ELOOP' });
      // A FIFO would hold the calling thread (the main one) until a writer came.
      execFileSync('mkfifo', [join(dir.path, 'fifo')]);
      assert.throws(() => readSmallFile(join(dir.path, 'fifo')), /no longer a regular file/);
    } finally {
      await dir.remove();
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inPageCache } from './page-cache.ts';

describe('inPageCache', () => {
  it('takes an empty file for cached (nothing to read), and fails on a descriptor not open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hbr-page-cache-'));
    try {
      const path = join(dir, 'empty');
      await writeFile(path, '');
      const handle = await open(path, 'r');
      try {
        assert.equal(inPageCache(handle.fd), true);
      } finally {
        await handle.close();
      }
      assert.throws(() => inPageCache(999_999), { code: 'EBADF' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { childPath } from './child-path.ts';

describe('childPath', () => {
  it('is join for a listed name in a normal folder path, the root included', () => {
    for (const [folder, name] of [
      ['/', 'etc'],
      ['/work/data', 'a.txt'],
      ['/work/data/sub folder', '.hidden'],
      ['/work', '..x'],
    ] as const) {
      assert.equal(childPath(folder, name), join(folder, name));
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import type { BlobSaver } from './blob-saver.ts';
import type { CutChunks } from './codec-pool.ts';
import { saveFileCut } from './content.ts';

const MiB = 1024 * 1024;

/**
 * A saver of chunks mostly stored already (`saveRanges` only, as `saveFileCut` uses it for a
 * changed file), whose hashing and storing each end when the test says: what it was asked, and
 * the gates to open.
 */
function _gatedSaver(): {
  saver: BlobSaver;
  asked: number[];
  hash: () => void;
  store: () => void;
} {
  const asked: number[] = [];
  const hashing: (() => void)[] = [];
  const storing: (() => void)[] = [];
  const saveRanges: BlobSaver['saveRanges'] = async (_fd, position, lengths, options = {}) => {
    asked.push(position);
    await new Promise<void>((resolve) => hashing.push(resolve));
    options.onHashed?.();
    // Then each range's new chunk is stored: it waits (a pack's upload, a slot) until let go.
    await new Promise<void>((resolve) => storing.push(resolve));
    return lengths.map((length, i) => ({ id: Buffer.alloc(32, (position + i) & 0xff), length }));
  };
  return {
    saver: { saveRanges } as unknown as BlobSaver,
    asked,
    hash: () => hashing.splice(0).forEach((go) => go()),
    store: () => storing.splice(0).forEach((go) => go()),
  };
}

/** A cut of `spans` spans of one 8 MiB chunk each. */
function _cut(spans: number): (span: number) => AsyncIterable<CutChunks> {
  return async function* () {
    for (let i = 0; i < spans; i++) {
      await turn(); // as a worker's replies arrive
      yield { lengths: [8 * MiB], end: i === spans - 1 };
    }
  };
}

/** Lets the chunk saves in flight run as far as they can. */
async function _settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await turn();
}

void describe('saveFileCut of a changed file', () => {
  void it('goes on hashing while new chunks wait to be stored, within a bound of unhashed bytes', async () => {
    const { saver, asked, hash, store } = _gatedSaver();
    const saved = saveFileCut(saver, _cut(40), 3);
    await _settle();
    // Nothing hashed yet: a bounded number of requests is out (about 12 x 8 MiB), not all 40.
    const first = asked.length;
    assert.ok(first > 1 && first < 40, `${first} requests before any was hashed`);
    // Hashed, their stores still waiting: the next requests go out meanwhile, and so on to the
    // end, though no store has ended (storing holds its own bounded memory: slots, packs).
    while (asked.length < 40) {
      const before = asked.length;
      hash();
      await _settle();
      assert.ok(asked.length > before, `stuck at ${before} requests with their stores waiting`);
    }
    let done = false;
    void saved.then(() => (done = true));
    while (!done) {
      hash();
      store();
      await _settle();
    }
    const stored = await saved;
    assert.equal(stored.size, 40 * 8 * MiB);
    assert.deepEqual(
      stored.content,
      asked.map((position) => Buffer.alloc(32, position & 0xff).toString('hex')),
      'in the file order',
    );
  });
});

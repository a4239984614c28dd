import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError } from '../errors.ts';
import type { Store } from '../stores/types.ts';
import { createSpanReads } from './span-reads.ts';

/** An object of 1 MiB (byte i is i % 251) behind a store that records the ranges asked for. */
function objectStore(size = 1024 * 1024): {
  store: Pick<Store, 'get'>;
  asked: { offset: number; length: number; signal: AbortSignal | undefined }[];
} {
  const bytes = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
  const asked: { offset: number; length: number; signal: AbortSignal | undefined }[] = [];
  return {
    asked,
    store: {
      get(key, options) {
        const { offset = 0, length = size } = options?.range ?? {};
        asked.push({ offset, length, signal: options?.signal });
        // As S3 and Azure answer: what there is of the range, or an error past the end.
        if (offset >= size) {
          return Promise.reject(
            new StoreError(`[store:test] get ${key}: 416`, { permanent: true, status: 416 }),
          );
        }
        return Promise.resolve(Buffer.from(bytes.subarray(offset, offset + length)));
      },
    },
  };
}

const expected = (offset: number, length: number): Buffer =>
  Buffer.from(Array.from({ length }, (_, i) => (offset + i) % 251));

describe('ranged reads gathered into spans', () => {
  it('reads parts asked for in one turn and close together as one span, each handed its own', async () => {
    const { store, asked } = objectStore();
    const spans = createSpanReads(store);
    const parts = [
      [1000, 300],
      [0, 500],
      [1400, 100], // 100 bytes past the one before: read with it
      [300_000, 50], // 298 KB further: a span of its own
    ] as const;
    const read = await Promise.all(parts.map(([o, l]) => spans.read('p', o, l)));
    parts.forEach(([o, l], i) => assert.ok(read[i]?.equals(expected(o, l)), `${o}+${l}`));
    assert.deepEqual(
      asked.map(({ offset, length }) => [offset, length]),
      [
        [0, 1500],
        [300_000, 50],
      ],
    );
  });

  it('reads at most a span at once, and what is asked in a later turn apart', async () => {
    const { store, asked } = objectStore();
    const spans = createSpanReads(store, { span: 4096 });
    await Promise.all([0, 2048, 4096, 6144].map((o) => spans.read('p', o, 2048)));
    await spans.read('p', 8192, 10);
    assert.deepEqual(
      asked.map(({ offset, length }) => [offset, length]),
      [
        [0, 4096],
        [4096, 4096],
        [8192, 10],
      ],
    );
  });

  it('reads a span that fails part by part: only the parts past the end of the object fail', async () => {
    const { store } = objectStore(1000);
    const spans = createSpanReads(store);
    const [before, past] = await Promise.allSettled([
      spans.read('p', 900, 100),
      spans.read('p', 1000, 100),
    ]);
    assert.equal(before?.status, 'fulfilled');
    assert.equal(past?.status, 'rejected');
  });

  it("reads under the readers' one signal, or none when they have their own", async () => {
    const { store, asked } = objectStore();
    const spans = createSpanReads(store);
    const command = new AbortController().signal;
    await Promise.all([spans.read('p', 0, 10, command), spans.read('p', 20, 10, command)]);
    assert.equal(asked.at(-1)?.signal, command);
    const gone = new AbortController();
    const reads = [spans.read('p', 0, 10, gone.signal), spans.read('p', 20, 10)];
    gone.abort(new Error('given up'));
    const [mine, other] = await Promise.allSettled(reads);
    assert.equal(asked.at(-1)?.signal, undefined);
    assert.equal(mine?.status, 'rejected', 'the reader that gave up');
    assert.equal(other?.status, 'fulfilled', 'the other one has its part');
  });
});

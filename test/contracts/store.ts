/**
 * The Store contract (see `src/stores/types.ts`), as one suite run against every store.
 * @module
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { StoreError } from '../../src/errors.ts';
import type { ObjectInfo, Store } from '../../src/stores/types.ts';

/** Opens a store whose keys live under `namespace`, isolated from every other namespace. */
export type StoreFactory = (namespace: string) => Promise<Store>;

/** Options of {@link describeStoreContract}. */
export interface ContractOptions {
  /** Size of the "large object" case; it must take the store's multipart/block path. */
  readonly largeSize?: number;
  /** The store offers `createWriter` (a local disk); others must not. @default false */
  readonly writers?: boolean;
}

/**
 * Registers the contract tests for one store implementation. Each test opens its own namespace
 * through `open`, so tests neither see nor disturb each other's objects.
 */
export function describeStoreContract(
  label: string,
  open: StoreFactory,
  options: ContractOptions = {},
): void {
  const largeSize = options.largeSize ?? 9 * 1024 * 1024 + 123;
  const opened: Store[] = [];
  let counter = 0;
  const fresh = async (): Promise<Store> => {
    const store = await open(`contract-${process.pid}-${Date.now().toString(36)}-${counter++}`);
    opened.push(store);
    return store;
  };

  void describe(`Store contract: ${label}`, () => {
    after(async () => {
      for (const store of opened) {
        for (const { key } of await collect(store.list(''))) await store.delete(key);
        await store.close?.();
      }
    });

    void it('returns the bytes that were put, and head reports their size', async () => {
      const store = await fresh();
      const data = randomBytes(1000);
      await store.put('data/ab/abcdef', data);
      assert.deepEqual(await store.get('data/ab/abcdef'), data);
      assert.deepEqual(sized(await store.head('data/ab/abcdef')), {
        key: 'data/ab/abcdef',
        size: 1000,
      });
    });

    void it('keeps empty objects', async () => {
      const store = await fresh();
      await store.put('keys/empty', new Uint8Array(0));
      assert.equal((await store.get('keys/empty')).byteLength, 0);
      assert.deepEqual(sized(await store.head('keys/empty')), { key: 'keys/empty', size: 0 });
    });

    void it('reads exactly the requested byte range, alongside other work or not', async () => {
      const store = await fresh();
      const data = randomBytes(5000);
      await store.put('data/00/range', data);
      // A local store reads a short range on the calling thread, unless asked `alongside`.
      for (const alongside of [false, true]) {
        const get = (offset: number, length: number) =>
          store.get('data/00/range', { range: { offset, length }, alongside });
        assert.deepEqual(await get(10, 90), data.subarray(10, 100));
        assert.deepEqual(await get(4000, 1000), data.subarray(4000));
        assert.deepEqual(await get(0, 1), data.subarray(0, 1));
        assert.equal((await get(5000, 0)).byteLength, 0);
      }
    });

    void it('reads a range into offered memory, or returns it elsewhere', async () => {
      const store = await fresh();
      const data = randomBytes(5000);
      await store.put('data/00/into', data);
      const into = Buffer.alloc(2000, 0xee);
      const got = await store.get('data/00/into', { range: { offset: 100, length: 1500 }, into });
      assert.deepEqual(got, data.subarray(100, 1600));
      // Read there or not, nothing past the bytes asked for is touched.
      assert.ok(into.subarray(1500).every((b) => b === 0xee));
      if (got.buffer === into.buffer) assert.deepEqual(into.subarray(0, 1500), got);
    });

    void it('refuses a range that reaches past the end of the object, permanently', async () => {
      const store = await fresh();
      await store.put('data/00/short', randomBytes(100));
      // Small and large ranges (a local store reads ranges up to 256 KiB another way).
      await store.put('data/00/long', randomBytes(300 * 1024));
      for (const [key, range] of [
        ['data/00/short', { offset: 50, length: 51 }],
        ['data/00/short', { offset: 200, length: 10 }],
        ['data/00/long', { offset: 1000, length: 300 * 1024 }],
      ] as const) {
        await assert.rejects(store.get(key, { range }), (error: unknown) => {
          assert.ok(error instanceof StoreError, String(error));
          assert.equal(error.permanent, true);
          assert.ok(error.message.includes(key), error.message);
          return true;
        });
      }
    });

    void it('fails a get of a missing key with a permanent 404 naming the store and the key', async () => {
      const store = await fresh();
      for (const range of [undefined, { offset: 0, length: 10 }]) {
        await assert.rejects(store.get('snapshots/missing', { range }), (error: unknown) => {
          assert.ok(error instanceof StoreError, String(error));
          assert.equal(error.permanent, true);
          assert.equal(error.status, 404);
          assert.ok(error.message.includes(store.name), error.message);
          assert.ok(error.message.includes('snapshots/missing'), error.message);
          return true;
        });
      }
      assert.equal(await store.head('snapshots/missing'), undefined);
    });

    void it('lists exactly the objects whose keys start with the prefix', async () => {
      const store = await fresh();
      const keys = ['data/aa/1', 'data/ab/2', 'data/b0/3', 'dataX', 'index/4', 'config'];
      for (const [i, key] of keys.entries()) await store.put(key, randomBytes(i + 1));
      const listed = async (prefix: string): Promise<string[]> =>
        (await collect(store.list(prefix))).map((info) => `${info.key}:${info.size}`).sort();
      assert.deepEqual(await listed('data/'), ['data/aa/1:1', 'data/ab/2:2', 'data/b0/3:3']);
      assert.deepEqual(await listed('data/a'), ['data/aa/1:1', 'data/ab/2:2']);
      assert.deepEqual(await listed('data'), [
        'data/aa/1:1',
        'data/ab/2:2',
        'data/b0/3:3',
        'dataX:4',
      ]);
      assert.deepEqual(await listed('index/4'), ['index/4:5']);
      assert.deepEqual(await listed('locks/'), []);
      assert.equal((await listed('')).length, keys.length);
    });

    void it('tells when it wrote each object, by one clock: head and list agree, and a later object is not older', async () => {
      const store = await fresh();
      await store.put('locks/first', randomBytes(10));
      await store.put('locks/second', randomBytes(10));
      const listed = new Map(
        (await collect(store.list('locks/'))).map((info) => [info.key, info.lastModified]),
      );
      // Whole seconds: HTTP dates (S3 and Azure heads) carry no more.
      const seconds = (date: Date | undefined): number => Math.floor(Number(date) / 1000);
      for (const key of ['locks/first', 'locks/second']) {
        const headed = (await store.head(key))?.lastModified;
        assert.ok(headed instanceof Date && listed.get(key) instanceof Date, key);
        assert.equal(seconds(headed), seconds(listed.get(key)), key);
      }
      assert.ok(Number(listed.get('locks/second')) >= Number(listed.get('locks/first')));
    });

    void it('deletes objects, and deleting a missing object succeeds', async () => {
      const store = await fresh();
      await store.put('locks/one', randomBytes(10));
      await store.delete('locks/one');
      assert.equal(await store.head('locks/one'), undefined);
      assert.deepEqual(await collect(store.list('locks/')), []);
      await store.delete('locks/one');
      await store.delete('locks/never-existed');
    });

    void it('keeps an object intact when the same bytes are put again', async () => {
      const store = await fresh();
      const data = randomBytes(2048);
      await store.put('data/cd/same', data);
      await store.put('data/cd/same', data);
      assert.deepEqual(await store.get('data/cd/same'), data);
    });

    void it('round-trips a large object through the multipart/block path, ranges included', async () => {
      const store = await fresh();
      const data = randomBytes(largeSize);
      await store.put('data/ef/large', data);
      assert.deepEqual(sized(await store.head('data/ef/large')), {
        key: 'data/ef/large',
        size: largeSize,
      });
      assert.ok((await store.get('data/ef/large')).equals(data), 'large object differs');
      // A range spanning the boundary between two blocks/parts.
      const offset = 4 * 1024 * 1024 - 17;
      const ranged = await store.get('data/ef/large', {
        range: { offset, length: 5 * 1024 * 1024 },
      });
      assert.ok(ranged.equals(data.subarray(offset, offset + 5 * 1024 * 1024)), 'range differs');
    });

    void it('handles concurrent puts of different keys and of the same key', async () => {
      const store = await fresh();
      const items = Array.from({ length: 16 }, (_, i) => ({
        key: `data/${i.toString(16).padStart(2, '0')}/obj`,
        data: randomBytes(1000 + i * 100),
      }));
      const same = randomBytes(3000);
      await Promise.all([
        ...items.map(({ key, data }) => store.put(key, data)),
        ...Array.from({ length: 4 }, () => store.put('index/shared', same)),
      ]);
      for (const { key, data } of items) assert.deepEqual(await store.get(key), data, key);
      assert.deepEqual(await store.get('index/shared'), same);
      assert.equal((await collect(store.list('data/'))).length, 16);
    });

    void it('never shows a partially written object to readers', async () => {
      const store = await fresh();
      const data = randomBytes(largeSize);
      const observed: string[] = [];
      let writing = true;
      const watch = (async () => {
        while (writing) {
          const info = await store.head('data/99/atomic');
          if (info) {
            observed.push(`head:${info.size}`);
            const body = await store.get('data/99/atomic');
            observed.push(body.equals(data) ? 'whole' : `partial:${body.byteLength}`);
          } else observed.push('absent');
        }
      })();
      await store.put('data/99/atomic', data).finally(() => (writing = false));
      await watch;
      assert.ok(observed.length > 0);
      for (const seen of observed)
        assert.ok(['absent', `head:${largeSize}`, 'whole'].includes(seen), `saw ${seen}`);
    });

    void it('leaves nothing or the whole object when a put is aborted', async () => {
      const store = await fresh();
      const data = randomBytes(largeSize);
      const controller = new AbortController();
      const putting = store.put('data/98/aborted', data, { signal: controller.signal });
      setImmediate(() => controller.abort());
      const outcome = await putting.then(
        () => 'completed',
        (error: unknown) => error,
      );
      const info = await store.head('data/98/aborted');
      if (outcome !== 'completed') assert.ok(outcome instanceof Error, String(outcome));
      if (info)
        assert.ok(
          (await store.get('data/98/aborted')).equals(data),
          `partial object after ${String(outcome)}`,
        );
    });

    if (!options.writers) {
      void it('has no writers: every object goes through put', async () => {
        const store = await fresh();
        assert.ok(!store.createWriter, 'a remote store offers createWriter');
      });
      return;
    }

    void it('writes an object as its bytes come, shown under its key only once committed', async () => {
      const store = await fresh();
      if (!store.createWriter) throw new Error('this store has no createWriter');
      // More than two of the local store's pieces (4 MiB), so its writer takes, writes and gives
      // back several, some while others are in flight.
      const parts = [randomBytes(100), randomBytes(9 * 1024 * 1024 + 7), randomBytes(5000)];
      const expected = Buffer.concat(parts);
      const writer = await store.createWriter();
      for (const part of parts) {
        await writer.write(part);
        part.fill(0); // copied: the caller may reuse it
      }
      assert.deepEqual(await collect(store.list('')), []);
      await writer.commit('data/77/streamed');
      const whole = await store.get('data/77/streamed');
      assert.deepEqual((await collect(store.list(''))).map(sized), [
        { key: 'data/77/streamed', size: expected.length },
      ]);
      // The bytes written, not the zeros they were overwritten with.
      assert.ok(whole.equals(expected));
    });

    void it('leaves nothing of an aborted writer, whether it wrote or not', async () => {
      const store = await fresh();
      if (!store.createWriter) throw new Error('this store has no createWriter');
      const empty = await store.createWriter();
      await empty.abort();
      const written = await store.createWriter();
      await written.write(randomBytes(2 * 1024 * 1024));
      await written.abort();
      await written.abort(); // twice: never throws
      assert.deepEqual(await collect(store.list('')), []);
    });
  });
}

/** Collects an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** An object's key and size, without its time (which no test can know beforehand). */
function sized(info: ObjectInfo | undefined): { key: string; size: number } | undefined {
  return info && { key: info.key, size: info.size };
}

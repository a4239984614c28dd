import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IntegrityError } from '../errors.ts';
import { decodeBlob, encodeBlob } from './blob-codec.ts';
import { chunkLengths, createChunker } from './chunker.ts';
import {
  cutFileAway,
  hashFileRanges,
  identifyBlob,
  identifyFileRange,
  identifyRingChunk,
  keepLease,
  leaseStoredBlob,
  POOL_MIN,
  sharedBuffer,
  readFileBlob,
  restoreBlobsAway,
  verifyBlobsAway,
  type RingChunk,
} from './codec-pool.ts';
import { blobId, deriveKeys } from './crypto.ts';
import { createGearTable } from './gear.ts';
import { pseudoRandomBytes, textLikeBytes } from './testdata/inputs.ts';

const keys = deriveKeys(randomBytes(64));
const policy = { level: 1 };

/** A stored blob decoded through the pool, from bytes already read. */
function leaseDecodedBlob(
  keys: ReturnType<typeof deriveKeys>,
  type: 'data' | 'tree',
  id: Buffer,
  encoded: Buffer,
  rawLength: number,
  what: string,
) {
  const blob = { encodedLength: encoded.length, rawLength, what };
  return leaseStoredBlob(keys, type, id, blob, () => Promise.resolve(encoded));
}

describe('codec pool', () => {
  // Both sides of the size below which the calling thread does the work, compressible or not.
  const inputs = {
    'small text': textLikeBytes(1, POOL_MIN / 2),
    'large text': textLikeBytes(2, 3 * POOL_MIN + 17),
    'large random': pseudoRandomBytes(3, 5 * POOL_MIN),
  };

  for (const [name, data] of Object.entries(inputs)) {
    it(`hashes and encodes ${name} as the calling thread does, readable by both`, async () => {
      const held = await identifyBlob(keys, data);
      assert.deepEqual(held.id, blobId(keys, data));
      const blob = await held.encode('data', policy);
      const encoded = Buffer.from(blob.encoded); // a copy: the slot is reused after release
      blob.release();
      assert.equal(blob.rawLength, data.length);
      // Decoded on the calling thread and through the pool: the same plaintext.
      const what = `blob ${name}`;
      assert.deepEqual(decodeBlob(keys, 'data', held.id, encoded, data.length, what), data);
      assert.deepEqual(
        keepLease(await leaseDecodedBlob(keys, 'data', held.id, encoded, data.length, what)),
        data,
      );
      // And what the calling thread encodes, the pool decodes.
      const here = encodeBlob(keys, 'tree', held.id, data, policy);
      const lease = await leaseDecodedBlob(keys, 'tree', held.id, here.encoded, data.length, what);
      assert.deepEqual(Buffer.from(lease.bytes), data);
      lease.release();
    });
  }

  it('reports a damaged blob as an IntegrityError from the worker, and goes on working', async () => {
    const data = pseudoRandomBytes(4, 2 * POOL_MIN);
    const held = await identifyBlob(keys, data);
    const blob = await held.encode('data', policy);
    const damaged = Buffer.from(blob.encoded);
    blob.release();
    damaged[damaged.length >> 1]! ^= 1;
    await assert.rejects(
      leaseDecodedBlob(keys, 'data', held.id, damaged, data.length, 'the damaged blob'),
      (error: unknown) =>
        error instanceof IntegrityError &&
        /the damaged blob: authentication failed/.test(error.message),
    );
    // As another blob (wrong id): refused too, never returned as the blob asked for.
    const other = blobId(keys, Buffer.from('other'));
    await assert.rejects(
      leaseDecodedBlob(keys, 'data', other, Buffer.from(blob.encoded), data.length, 'x'),
      IntegrityError,
    );
    const again = await identifyBlob(keys, data);
    assert.deepEqual(again.id, held.id);
    again.drop();
  });

  it('copies what it hashes before returning, even while every slot is taken', async () => {
    // More blobs held at once than there are slots, each from one buffer overwritten right after
    // the call: the ids and the stored bytes must still be those of the original contents.
    const buffer = Buffer.alloc(3 * POOL_MIN);
    const held: { data: Buffer; blob: Promise<Awaited<ReturnType<typeof identifyBlob>>> }[] = [];
    for (let i = 0; i < 30; i++) {
      const data = pseudoRandomBytes(200 + i, i % 3 === 0 ? POOL_MIN / 4 : 3 * POOL_MIN);
      data.copy(buffer);
      held.push({ data, blob: identifyBlob(keys, buffer.subarray(0, data.length)) });
      buffer.fill(i); // the caller reuses its buffer at once
    }
    for (const { data, blob } of held) {
      const h = await blob;
      assert.deepEqual(h.id, blobId(keys, data));
      const encoded = await h.encode('data', policy);
      const copy = Buffer.from(encoded.encoded);
      encoded.release();
      assert.deepEqual(decodeBlob(keys, 'data', h.id, copy, data.length, 'held'), data);
    }
  });

  it('decodes more blobs at once than it has slots, while leases are held', async () => {
    const blobs = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const data = pseudoRandomBytes(100 + i, POOL_MIN + i * 1000);
        const held = await identifyBlob(keys, data);
        const blob = await held.encode('data', policy);
        const encoded = Buffer.from(blob.encoded);
        blob.release();
        return { data, id: held.id, encoded };
      }),
    );
    // Every lease is held until all are read: readers that hold slots never wait for one.
    const leases = await Promise.all(
      blobs.map((b) => leaseDecodedBlob(keys, 'data', b.id, b.encoded, b.data.length, 'b')),
    );
    leases.forEach((lease, i) => assert.deepEqual(Buffer.from(lease.bytes), blobs[i]?.data));
    for (const lease of leases) lease.release();
  });

  describe('small files read on a worker', () => {
    let dir = '';
    const max = 256 * 1024;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'hbr-codec-file-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('reads, hashes and encodes a file as the calling thread would', async () => {
      for (const [name, data] of [
        ['text', textLikeBytes(7, 30_000)],
        ['random, the largest allowed', pseudoRandomBytes(8, max)],
      ] as const) {
        const path = join(dir, name);
        await writeFile(path, data);
        const file = await readFileBlob(keys, path, max, policy);
        assert.equal(file.rawLength, data.length);
        assert.equal(file.before.size, BigInt(data.length));
        assert.equal(file.after.mtimeNs, file.before.mtimeNs);
        assert.ok(file.held && !file.skipped);
        assert.deepEqual(file.held.id, blobId(keys, data));
        const blob = await file.held.encode('data', policy);
        const encoded = Buffer.from(blob.encoded);
        blob.release();
        assert.deepEqual(decodeBlob(keys, 'data', file.held.id, encoded, data.length, name), data);
      }
    });

    it('reads nothing of an empty file, a larger one or a FIFO, and follows no symlink', async () => {
      await writeFile(join(dir, 'empty'), '');
      const empty = await readFileBlob(keys, join(dir, 'empty'), max, policy);
      assert.equal(empty.rawLength, 0);
      assert.ok(!empty.held && !empty.skipped);

      await writeFile(join(dir, 'large'), pseudoRandomBytes(9, max + 1));
      const large = await readFileBlob(keys, join(dir, 'large'), max, policy);
      assert.ok(large.skipped && !large.held);
      assert.equal(large.before.size, BigInt(max + 1));

      // A FIFO with no writer: opened without waiting, recognised, never read.
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      const fifo = await readFileBlob(keys, join(dir, 'fifo'), max, policy);
      assert.ok(fifo.skipped && !fifo.held);

      await symlink(join(dir, 'empty'), join(dir, 'link'));
      await assert.rejects(readFileBlob(keys, join(dir, 'link'), max, policy), { code: 'ELOOP' });
      await assert.rejects(readFileBlob(keys, join(dir, 'missing'), max, policy), {
        code: 'ENOENT',
      });
      // The pool still works after those errors.
      const again = await readFileBlob(keys, join(dir, 'text'), max, policy);
      assert.ok(again.held);
      again.held.drop();
    });

    it('reads files asked for together in shared requests, each blob whole', async () => {
      // Incompressible files of the largest size: each fills its whole part of a shared slot.
      const files = Array.from({ length: 12 }, (_, i) => pseudoRandomBytes(100 + i, max - i));
      const paths = files.map((_, i) => join(dir, `together-${i}`));
      await Promise.all(paths.map((path, i) => writeFile(path, files[i] ?? '')));
      // All read before any is encoded or released: no blob may overwrite another's bytes.
      const read = await Promise.all(paths.map((path) => readFileBlob(keys, path, max, policy)));
      const encoded = await Promise.all(
        read.map((file) => {
          assert.ok(file.held);
          return file.held.encode('data', policy);
        }),
      );
      encoded.forEach((blob, i) => {
        const plain = decodeBlob(keys, 'data', blob.id, Buffer.from(blob.encoded), max - i, 'f');
        assert.deepEqual(plain, files[i]);
      });
      for (const blob of encoded) blob.release();
    });

    it('fails only the files that fail in a shared request, and frees every slot', async () => {
      const texts = Array.from({ length: 150 }, (_, i) => textLikeBytes(300 + i, 500 + 37 * i));
      await Promise.all(texts.map((data, i) => writeFile(join(dir, `many-${i}`), data)));
      await writeFile(join(dir, 'too large'), pseudoRandomBytes(9, max + 1));
      // Twice: a slot not freed after the first round would leave the second waiting for it.
      for (let round = 0; round < 2; round++) {
        const asked = texts.map((_, i) => join(dir, `many-${i}`));
        asked.splice(40, 0, join(dir, 'missing'));
        asked.splice(90, 0, join(dir, 'too large'));
        const outcomes = await Promise.allSettled(
          asked.map(async (path) => {
            const file = await readFileBlob(keys, path, max, policy);
            const blob = await file.held?.encode('data', policy);
            const plain = blob
              ? decodeBlob(keys, 'data', blob.id, Buffer.from(blob.encoded), file.rawLength, path)
              : undefined;
            blob?.release();
            return { file, plain };
          }),
        );
        const missing = outcomes[40];
        assert.ok(missing?.status === 'rejected');
        assert.equal((missing.reason as NodeJS.ErrnoException).code, 'ENOENT');
        const large = outcomes[90];
        assert.ok(large?.status === 'fulfilled' && large.value.file.skipped);
        const stored = outcomes.filter((_, i) => i !== 40 && i !== 90);
        assert.equal(stored.length, texts.length);
        stored.forEach((outcome, i) => {
          assert.ok(outcome.status === 'fulfilled');
          assert.deepEqual(outcome.value.plain, texts[i]);
        });
      }
    });
  });

  describe('chunks of an open file read again on a worker', () => {
    let dir = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'hbr-codec-range-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));
    /** A file of `data` in the folder, opened for reading. */
    const fileOf = async (name: string, data: Buffer) => {
      const path = join(dir, name);
      await writeFile(path, data);
      return { path, handle: await open(path, 'r') };
    };

    it('hashes and encodes a range of the file as the calling thread would its own copy', async () => {
      const data = pseudoRandomBytes(10, 3 * POOL_MIN);
      const { handle } = await fileOf('weights', data);
      try {
        // A large chunk (read by the worker) and a small one (read by the calling thread).
        for (const [position, length] of [
          [POOL_MIN / 2, 2 * POOL_MIN],
          [100, POOL_MIN / 4],
        ] as const) {
          const chunk = data.subarray(position, position + length);
          const { held, length: read } = await identifyFileRange(keys, handle.fd, position, length);
          assert.equal(read, length);
          assert.ok(held);
          assert.deepEqual(held.id, blobId(keys, chunk));
          const blob = await held.encode('data', policy);
          const encoded = Buffer.from(blob.encoded);
          blob.release();
          assert.deepEqual(decodeBlob(keys, 'data', held.id, encoded, length, 'range'), chunk);
        }
      } finally {
        await handle.close();
      }
    });

    it('cuts a file into the chunker chunks on a worker, span by span, and stops when asked', async () => {
      const data = pseudoRandomBytes(12, 3 * 1024 * 1024 + 12_345);
      const { handle } = await fileOf('model', data);
      const gear = createGearTable(randomBytes(32));
      const params = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };
      const expected = createChunker(gear, params).push(data);
      const tail = createChunker(gear, params);
      tail.push(data);
      const last = tail.finish();
      if (last) expected.push(last);
      try {
        const spans: number[] = [];
        const got: number[] = [];
        for await (const cut of cutFileAway({ gear, params }, handle.fd, 512 * 1024)) {
          spans.push(cut.lengths.length);
          got.push(...cut.lengths);
        }
        assert.ok(spans.length > 3, `${spans.length} spans`);
        assert.deepEqual(
          got,
          expected.map((c) => c.length),
        );
        // Stopped after its first span, the worker ends the job before the loop returns.
        let seen = 0;
        for await (const cut of cutFileAway({ gear, params }, handle.fd, 512 * 1024)) {
          seen += cut.lengths.length;
          break;
        }
        assert.ok(seen > 0 && seen < expected.length);
      } finally {
        await handle.close();
      }
      // A descriptor that is not open: the worker's error, and the pool goes on.
      const cut = cutFileAway({ gear, params }, 999_999, 512 * 1024);
      await assert.rejects(cut.next(), { code: 'EBADF' });
      const again = await identifyBlob(keys, pseudoRandomBytes(13, POOL_MIN));
      again.drop();
    });

    it('reads a new file once into a ring: its chunks hashed out of it, one cut at a time', async () => {
      const data = pseudoRandomBytes(14, 5 * 1024 * 1024 + 777);
      const { handle } = await fileOf('new-model', data);
      const gear = createGearTable(randomBytes(32));
      const params = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };
      const span = 512 * 1024;
      const expected = chunkLengths(gear, params, data, true);
      const readOnce = () => cutFileAway({ gear, params }, handle.fd, span, { readOnce: true });
      try {
        const lengths: number[] = [];
        const ids: Buffer[] = [];
        for await (const cut of readOnce()) {
          assert.ok(cut.chunks, 'chunks in the ring');
          assert.deepEqual(
            cut.chunks.map((chunk) => chunk.length),
            cut.lengths,
          );
          if (lengths.length === 0) {
            // Another file meanwhile is cut as usual: the ring is this one's.
            for await (const other of readOnce()) {
              assert.equal(other.chunks, undefined);
              break;
            }
          }
          // One at a time, slower than the worker reads: the ring holds 1.5 MiB of the file's 5.
          for (const chunk of cut.chunks) {
            const held = await identifyRingChunk(keys, chunk);
            ids.push(held.id);
            held.drop();
          }
          lengths.push(...cut.lengths);
        }
        assert.deepEqual(lengths, expected);
        let at = 0;
        for (const [i, length] of expected.entries()) {
          assert.deepEqual(ids[i], blobId(keys, data.subarray(at, at + length)), `chunk ${i}`);
          at += length;
        }
        // Given up midway, with chunks not taken, the ring comes back for the next file; a chunk
        // of a cut that is over can no longer be taken.
        let kept: RingChunk | undefined;
        for await (const cut of readOnce()) {
          (await identifyRingChunk(keys, cut.chunks?.[0] as RingChunk)).drop();
          kept = cut.chunks?.[1];
          break;
        }
        await assert.rejects(identifyRingChunk(keys, kept as RingChunk), /after its cut/);
        for await (const cut of readOnce()) {
          assert.ok(cut.chunks);
          break;
        }
      } finally {
        await handle.close();
      }
    });

    it('hashes what the file still holds when it shrank, and nothing past its end', async () => {
      const data = pseudoRandomBytes(11, 4 * POOL_MIN);
      const { path, handle } = await fileOf('shrinking', data);
      try {
        // The caller read 4 × POOL_MIN bytes; the file then lost its last 1.5 × POOL_MIN.
        await truncate(path, 2.5 * POOL_MIN);
        const chunk = data.subarray(POOL_MIN, 3 * POOL_MIN);
        const short = await identifyFileRange(keys, handle.fd, POOL_MIN, chunk.length);
        assert.equal(short.length, 1.5 * POOL_MIN);
        assert.deepEqual(short.held?.id, blobId(keys, data.subarray(POOL_MIN, 2.5 * POOL_MIN)));
        short.held?.drop();
        const gone = data.subarray(3 * POOL_MIN);
        const past = await identifyFileRange(keys, handle.fd, 3 * POOL_MIN, gone.length);
        assert.deepEqual(past, { length: 0 });
      } finally {
        await handle.close();
      }
      // Every slot came back: as many blobs as slots can be held again.
      const held = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          identifyBlob(keys, pseudoRandomBytes(20 + i, POOL_MIN)),
        ),
      );
      for (const h of held) h.drop();
    });

    it('hashes many consecutive ranges in one request, as far as the file goes', async () => {
      // Ranges of a file larger than a slot, one of them as long as the largest chunk.
      const lengths = [100, 3 * POOL_MIN, 8 * 1024 * 1024, 1, 2 * POOL_MIN];
      const size = lengths.reduce((sum, n) => sum + n, 0);
      const data = pseudoRandomBytes(14, size + 10);
      const { path, handle } = await fileOf('many-ranges', data);
      try {
        const idsFrom = (position: number, of: readonly number[]) =>
          of.map((length, i) => {
            const at = position + of.slice(0, i).reduce((sum, n) => sum + n, 0);
            return { id: blobId(keys, data.subarray(at, at + length)), length };
          });
        assert.deepEqual(await hashFileRanges(keys, handle.fd, 10, lengths), idsFrom(10, lengths));
        // The file ends inside the third range: it is hashed as far as it goes, then nothing.
        const end = 10 + 100 + 3 * POOL_MIN + 1000;
        await truncate(path, end);
        assert.deepEqual(await hashFileRanges(keys, handle.fd, 10, lengths), [
          ...idsFrom(10, [100, 3 * POOL_MIN, 1000]),
          { length: 0 },
          { length: 0 },
        ]);
      } finally {
        await handle.close();
      }
      await assert.rejects(hashFileRanges(keys, 999_999, 0, [10]), { code: 'EBADF' });
    });
  });

  it('restores files from stored blobs on a worker: content, mode, time, errors per file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hbr-codec-restore-'));
    try {
      const text = textLikeBytes(10, 3000);
      const other = pseudoRandomBytes(11, 700);
      const stored = (data: Buffer): Buffer =>
        encodeBlob(keys, 'data', blobId(keys, data), data, policy).encoded;
      const [a, b] = [stored(text), stored(other)];
      const damaged = Buffer.from(b);
      damaged[damaged.length - 1] = (damaged.at(-1) ?? 0) ^ 1;
      // One ranged read: the blobs side by side after some other bytes, the second one damaged.
      const read = Buffer.concat([Buffer.from('other blobs'), a, damaged]);
      const time = 1_700_000_000.25;
      const file = (name: string, more: object = {}) => ({
        path: join(dir, name),
        temp: join(dir, `.${name}.tmp`),
        mode: 0o640,
        time: String(time),
        what: name,
        ...more,
      });
      const results = await restoreBlobsAway(keys, read, [
        {
          offset: 11,
          length: a.length,
          id: blobId(keys, text),
          rawLength: text.length,
          what: 'blob a',
          files: [
            file('one.txt', { size: text.length }),
            file('two.txt', { size: text.length + 1 }),
            file('three.txt', { sha256: '00'.repeat(32) }),
            { ...file('four.txt'), temp: join(dir, 'missing', '.t') },
          ],
        },
        {
          offset: 11 + a.length,
          length: damaged.length,
          id: blobId(keys, other),
          rawLength: other.length,
          what: 'blob b',
          files: [file('five.bin')],
        },
      ]);
      assert.equal(results[0]?.[0], undefined);
      assert.ok(results[0]?.[1] instanceof IntegrityError);
      assert.match(results[0][1].message, /two\.txt: 3000 bytes read, 3001 expected/);
      assert.ok(results[0]?.[2] instanceof IntegrityError);
      assert.match(results[0][2].message, /three\.txt: content does not match its SHA-256/);
      assert.match(String((results[0]?.[3] as Error | undefined)?.message), /ENOENT/);
      assert.ok(results[1]?.[0] instanceof IntegrityError);
      assert.match(results[1][0].message, /blob b/);
      assert.deepEqual(await readFile(join(dir, 'one.txt')), text);
      const st = await stat(join(dir, 'one.txt'));
      assert.equal(st.mode & 0o777, 0o640);
      assert.equal(st.mtimeMs, time * 1000);
      // Only the file that passed is there: no temporary file, nothing of the failed ones.
      assert.deepEqual(await readdir(dir), ['one.txt']);
      // The read was a view into a larger buffer: copied, not handed over.
      assert.equal(read.length, 11 + a.length + damaged.length);

      // Many batches at once, as a restore sends them: each worker decodes its blobs one after another.
      const texts = Array.from({ length: 24 }, (_, i) => textLikeBytes(100 + i, 20_000 + i));
      const blobs = texts.map(stored);
      await Promise.all(
        [0, 1, 2, 3, 4, 5, 6, 7].map(async (batch) => {
          const mine = [0, 1, 2].map((k) => batch * 3 + k);
          const whole = Buffer.concat(mine.map((i) => blobs[i] as Buffer));
          let offset = 0;
          const results = await restoreBlobsAway(
            keys,
            whole,
            mine.map((i) => {
              const length = (blobs[i] as Buffer).length;
              offset += length;
              const data = texts[i] as Buffer;
              const id = blobId(keys, data);
              const files = [file(`batch-${i}`, { size: data.length })];
              return {
                offset: offset - length,
                length,
                id,
                rawLength: data.length,
                what: 'b',
                files,
              };
            }),
          );
          assert.deepEqual(results, [[undefined], [undefined], [undefined]]);
          // A whole buffer of its own is handed over to the worker.
          assert.equal(whole.length, 0);
        }),
      );
      for (const [i, text] of texts.entries()) {
        assert.deepEqual(await readFile(join(dir, `batch-${i}`)), text);
      }

      // Shared memory is read where it lies and stays the caller's: one buffer, batch after batch.
      const memory = sharedBuffer(64 * 1024);
      for (const i of [0, 1]) {
        const blob = blobs[i] as Buffer;
        blob.copy(memory, 7);
        const data = texts[i] as Buffer;
        const results = await restoreBlobsAway(keys, memory, [
          {
            offset: 7,
            length: blob.length,
            id: blobId(keys, data),
            rawLength: data.length,
            what: 'shared',
            files: [file(`shared-${i}`, { size: data.length })],
          },
        ]);
        assert.deepEqual(results, [[undefined]]);
        assert.equal(memory.length, 64 * 1024);
        assert.deepEqual(await readFile(join(dir, `shared-${i}`)), data);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('verifies stored blobs on a worker, in shared memory or copied there, naming those that fail', async () => {
    const texts = [
      textLikeBytes(20, 5000),
      pseudoRandomBytes(21, 3 * POOL_MIN),
      textLikeBytes(22, 9),
    ];
    const encoded = texts.map((t) => encodeBlob(keys, 'data', blobId(keys, t), t, policy).encoded);
    const pack = Buffer.concat([Buffer.from('header'), ...encoded]);
    let offset = 6;
    const blobs = texts.map((t, i) => {
      const length = (encoded[i] as Buffer).length;
      offset += length;
      return {
        offset: offset - length,
        length,
        type: 'data' as const,
        id: blobId(keys, t),
        rawLength: t.length,
      };
    });
    // In shared memory, at an offset into it (as `check` reads packs), and in private memory.
    const shared = sharedBuffer(pack.length + 100).subarray(50, 50 + pack.length);
    pack.copy(shared);
    assert.deepEqual(await verifyBlobsAway(keys, shared, blobs), []);
    assert.deepEqual(await verifyBlobsAway(keys, pack, blobs), []);
    // A flipped byte in the second blob, a wrong length for the third, and one past the end.
    const damaged = Buffer.from(pack);
    const at = (blobs[1]?.offset ?? 0) + 40;
    damaged[at] = (damaged[at] ?? 0) ^ 1;
    const wrong = [
      ...blobs.slice(0, 2),
      { ...(blobs[2] as (typeof blobs)[number]), rawLength: 10 },
      { ...(blobs[0] as (typeof blobs)[number]), offset: pack.length - 3 },
    ];
    assert.deepEqual(await verifyBlobsAway(keys, damaged, wrong), [1, 2, 3]);
  });
});

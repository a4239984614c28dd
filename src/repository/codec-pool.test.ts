import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IntegrityError } from '../errors.ts';
import { decodeBlob, encodeBlob } from './blob-codec.ts';
import {
  identifyBlob,
  keepLease,
  leaseDecodedBlob,
  POOL_MIN,
  readFileBlob,
  writeFileAway,
} from './codec-pool.ts';
import { blobId, deriveKeys } from './crypto.ts';
import { pseudoRandomBytes, textLikeBytes } from './testdata/inputs.ts';

const keys = deriveKeys(randomBytes(64));
const policy = { level: 1 };

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
      assert.deepEqual(await decodeBlob(keys, 'data', held.id, encoded, data.length, what), data);
      assert.deepEqual(
        keepLease(await leaseDecodedBlob(keys, 'data', held.id, encoded, data.length, what)),
        data,
      );
      // And what the calling thread encodes, the pool decodes.
      const here = await encodeBlob(keys, 'tree', held.id, data, policy);
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
      assert.deepEqual(await decodeBlob(keys, 'data', h.id, copy, data.length, 'held'), data);
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
        assert.deepEqual(
          await decodeBlob(keys, 'data', file.held.id, encoded, data.length, name),
          data,
        );
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
  });

  it('writes a restored file on a worker: content, mode, time, and no temporary file left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hbr-codec-write-'));
    try {
      const data = textLikeBytes(10, 3000);
      const path = join(dir, 'restored.txt');
      const time = 1_700_000_000.25;
      // A view into a larger buffer: only the view's bytes are written.
      const larger = Buffer.concat([Buffer.from('before'), data, Buffer.from('after')]);
      await writeFileAway(
        { path, temp: join(dir, '.t1'), mode: 0o640, time },
        larger.subarray(6, 6 + data.length),
      );
      assert.deepEqual(await readFile(path), data);
      const st = await stat(path);
      assert.equal(st.mode & 0o777, 0o640);
      assert.equal(st.mtimeMs, time * 1000);
      await assert.rejects(
        writeFileAway(
          { path: join(dir, 'x'), temp: join(dir, 'missing', '.t2'), mode: 0o600, time },
          data,
        ),
        { code: 'ENOENT' },
      );
      assert.deepEqual(await readdir(dir), ['restored.txt']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

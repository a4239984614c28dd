import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request, type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  createBlobTable,
  startBlobEndpoint,
  type BlobEndpoint,
  type BlobEndpointOptions,
  type BlobTable,
} from '../../src/drivers/sqlserver/blob-endpoint/index.ts';
import {
  createByteBudget,
  initRepository,
  startSession,
  type ByteBudget,
  type OpenRepository,
  type RepositorySession,
} from '../../src/repository/index.ts';
import { createLocalStore } from '../../src/stores/local.ts';
import { pseudoRandomBytes, tempDir } from '../helpers/temp.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIG = 'test-signature';
const blockId = (i: number): string =>
  Buffer.from(`block-${String(i).padStart(6, '0')}`).toString('base64');

/** A request as it goes: send its body when you like; `response` settles with the answer. */
interface Pending {
  readonly req: ClientRequest;
  readonly response: Promise<{ status: number; body: Buffer }>;
}

/** Starts a raw HTTP request; its headers go out at once, its body is the caller's to send. */
function open(url: string, method: string, headers: OutgoingHttpHeaders = {}): Pending {
  const req = request(url, { method, headers });
  const response = new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
  });
  req.flushHeaders();
  return { req, response };
}

/** A whole request at once. */
function send(
  url: string,
  method: string,
  body: Buffer = Buffer.alloc(0),
): Promise<{ status: number; body: Buffer }> {
  const pending = open(url, method, { 'Content-Length': body.length });
  pending.req.end(body);
  return pending.response;
}

function blockListXml(ids: readonly string[]): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Latest>${id}</Latest>`).join('')}</BlockList>`,
  );
}

describe('the blob endpoint under raw HTTP: re-sent blocks, large reads, many uploads at once', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let repo: OpenRepository;
  let session: RepositorySession | undefined;
  let endpoint: BlobEndpoint | undefined;
  let packReads = 0; // reads of blobs out of data packs, one a blob
  before(async () => {
    dir = await tempDir();
    const store = createLocalStore({ path: dir.path });
    repo = await initRepository(
      {
        ...store,
        get(key, options) {
          if (key.startsWith('data/')) packReads++;
          return store.get(key, options);
        },
      },
      { kind: 'password', password: 'pw' },
      { scryptParams: { N: 1024, r: 8, p: 1 }, packSize: 8 * MiB },
    );
  });
  afterEach(async () => {
    await endpoint?.close();
    await session?.abort();
    endpoint = session = undefined;
  });
  after(async () => {
    await dir.remove();
  });

  /** An endpoint writing into a fresh session; `blobUrl(name, query)` addresses its blobs. */
  async function start(
    options: Partial<BlobEndpointOptions> = {},
    wrap: (table: BlobTable) => BlobTable = (table) => table,
  ): Promise<(name: string, query?: string) => string> {
    session = await startSession(repo);
    endpoint = await startBlobEndpoint({
      table: wrap(createBlobTable({ session, repo })),
      signature: SIG,
      ...options,
    });
    const base = endpoint.url;
    return (name, query = '') => `${base}/hbr-backup/${name}?${query}${query ? '&' : ''}sig=${SIG}`;
  }

  it('sets no time limit on a whole request, so a Put Block may wait for the body budget as long as storing takes', async () => {
    await start();
    // Node's default (5 minutes until the body is in) answered such a Put Block 408, and SQL
    // Server sent it again to the back of the queue. Headers must still come in time.
    assert.equal(endpoint?.server.requestTimeout, 0);
    assert.ok((endpoint?.server.headersTimeout ?? 0) > 0, 'headers still have a time limit');
  });

  it('keeps the Put Block that arrived last when an earlier send of the same block is stored after it', async () => {
    const blobUrl = await start();
    const blockUrl = blobUrl('db.bak', `comp=block&blockid=${encodeURIComponent(blockId(0))}`);
    const [first, second] = [pseudoRandomBytes(512 * KiB, 31), pseudoRandomBytes(512 * KiB, 32)];

    // The first send arrives and sends half its body (Node answers 100 Continue as it hands the
    // request to the endpoint, so the client hearing it means the endpoint has it); the second
    // arrives after it and is stored; only then does the first finish.
    const slow = open(blockUrl, 'PUT', {
      'Content-Length': first.length,
      Expect: '100-continue',
    });
    await once(slow.req, 'continue');
    slow.req.write(first.subarray(0, first.length / 2));
    assert.equal((await send(blockUrl, 'PUT', second)).status, 201);
    slow.req.end(first.subarray(first.length / 2));
    assert.equal((await slow.response).status, 201);

    const commit = await send(
      blobUrl('db.bak', 'comp=blocklist'),
      'PUT',
      blockListXml([blockId(0)]),
    );
    assert.equal(commit.status, 201);
    const read = await send(blobUrl('db.bak'), 'GET');
    assert.equal(read.status, 200);
    assert.ok(read.body.equals(second), 'the block holds the body of the later Put Block');
  });

  it('keeps the Put Blob that arrived last when an earlier one is stored after it, as Put Block does', async () => {
    const blobUrl = await start();
    const [first, second, third] = [
      pseudoRandomBytes(512 * KiB, 31),
      pseudoRandomBytes(512 * KiB, 32),
      pseudoRandomBytes(512 * KiB, 33),
    ];
    /** A Put Blob that has arrived and sent half its body; `finish` sends the rest. */
    const slowPut = async (body: Buffer): Promise<() => Promise<number>> => {
      const slow = open(blobUrl('log.trn'), 'PUT', {
        'Content-Length': body.length,
        Expect: '100-continue',
      });
      await once(slow.req, 'continue'); // the endpoint has the request (see above)
      slow.req.write(body.subarray(0, body.length / 2));
      return async () => {
        slow.req.end(body.subarray(body.length / 2));
        return (await slow.response).status;
      };
    };

    // A Put Blob arrives, a second arrives after it and is stored, and only then is the first.
    const finishFirst = await slowPut(first);
    assert.equal((await send(blobUrl('log.trn'), 'PUT', second)).status, 201);
    assert.equal(await finishFirst(), 201);
    let read = await send(blobUrl('log.trn'), 'GET');
    assert.ok(read.body.equals(second), 'the blob holds the body of the later Put Blob');

    // The same with a Put Block List committed after a Put Blob arrived.
    const finishThird = await slowPut(third);
    const blockUrl = blobUrl('log.trn', `comp=block&blockid=${encodeURIComponent(blockId(0))}`);
    assert.equal((await send(blockUrl, 'PUT', first)).status, 201);
    const commit = await send(
      blobUrl('log.trn', 'comp=blocklist'),
      'PUT',
      blockListXml([blockId(0)]),
    );
    assert.equal(commit.status, 201);
    assert.equal(await finishThird(), 201);
    read = await send(blobUrl('log.trn'), 'GET');
    assert.ok(read.body.equals(first), 'the blob holds the later block list');
  });

  it('streams a large blob out as the client takes it, starting before the whole blob is read', async () => {
    const blobUrl = await start();
    const stream = pseudoRandomBytes(48 * MiB, 41); // about 48 blobs of the db profile's 1 MiB
    const ids: string[] = [];
    for (let at = 0; at < stream.length; at += 4 * MiB) {
      ids.push(blockId(ids.length));
      const query = `comp=block&blockid=${encodeURIComponent(ids.at(-1) ?? '')}`;
      const put = await send(blobUrl('big.bak', query), 'PUT', stream.subarray(at, at + 4 * MiB));
      assert.equal(put.status, 201);
    }
    const commit = await send(blobUrl('big.bak', 'comp=blocklist'), 'PUT', blockListXml(ids));
    assert.equal(commit.status, 201);

    /** A GET, and how many blobs had been read when its first bytes came and in all. */
    const get = (headers: OutgoingHttpHeaders = {}) =>
      new Promise<{ status: number; body: Buffer; readsAtFirstBytes: number; reads: number }>(
        (resolve, reject) => {
          const before = packReads;
          let readsAtFirstBytes: number | undefined;
          const req = request(blobUrl('big.bak'), { headers }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (part: Buffer) => {
              readsAtFirstBytes ??= packReads - before;
              parts.push(part);
            });
            res.on('error', reject);
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: Buffer.concat(parts),
                readsAtFirstBytes: readsAtFirstBytes ?? 0,
                reads: packReads - before,
              }),
            );
          });
          req.on('error', reject).end();
        },
      );
    // Before the client takes its first bytes, the endpoint can have read only the blobs it reads
    // ahead, the one waiting to be sent and what the sockets buffer: about a dozen here, while
    // answering only once all were read would read every one (nearly 50).
    const whole = await get();
    assert.equal(whole.status, 200);
    assert.ok(whole.body.equals(stream), 'the whole blob, in order');
    assert.ok(
      whole.readsAtFirstBytes < whole.reads,
      `the first bytes came after ${whole.readsAtFirstBytes} of ${whole.reads} blob reads`,
    );
    const [from, to] = [3 * MiB + 123, 45 * MiB - 7];
    const ranged = await get({ Range: `bytes=${from}-${to}` });
    assert.equal(ranged.status, 206);
    assert.ok(ranged.body.equals(stream.subarray(from, to + 1)), 'the range, in order');
    assert.ok(ranged.readsAtFirstBytes < ranged.reads);
  });

  it('takes a client that leaves mid-read for no failure of its own', async () => {
    const seen: string[] = [];
    let source: Readable | undefined;
    const blobUrl = await start(
      { onError: (error, what) => seen.push(`${what}: ${(error as Error).message}`) },
      (table) => ({
        ...table,
        async read(key, offset, length, signal) {
          source = await table.read(key, offset, length, signal);
          return source;
        },
      }),
    );
    const stream = pseudoRandomBytes(8 * MiB, 51);
    const ids = [blockId(0), blockId(1)];
    for (const [i, id] of ids.entries()) {
      const query = `comp=block&blockid=${encodeURIComponent(id)}`;
      const part = stream.subarray(i * 4 * MiB, (i + 1) * 4 * MiB);
      assert.equal((await send(blobUrl('gone.bak', query), 'PUT', part)).status, 201);
    }
    const commit = await send(blobUrl('gone.bak', 'comp=blocklist'), 'PUT', blockListXml(ids));
    assert.equal(commit.status, 201);
    // The client takes its first bytes and hangs up.
    await new Promise<void>((resolve) => {
      const req = request(blobUrl('gone.bak'), (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined).end();
    });
    // The endpoint's stream is torn down, and its handler has settled, a turn or two later.
    const closing = source;
    if (closing && !closing.closed) await new Promise((resolve) => closing.once('close', resolve));
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, []);
  });

  it('reports a read that fails mid-stream with a connection reset of the store, the client still there', async () => {
    const seen: string[] = [];
    const blobUrl = await start(
      { onError: (error, what) => seen.push(`${what}: ${(error as Error).message}`) },
      (table) => ({
        ...table,
        async read(key, offset, length, signal) {
          const source = await table.read(key, offset, length, signal);
          // The store's connection is reset once the first bytes are out.
          source.once('data', () =>
            source.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })),
          );
          return source;
        },
      }),
    );
    const stream = pseudoRandomBytes(4 * MiB, 61);
    const query = `comp=block&blockid=${encodeURIComponent(blockId(0))}`;
    assert.equal((await send(blobUrl('reset.bak', query), 'PUT', stream)).status, 201);
    const commit = await send(
      blobUrl('reset.bak', 'comp=blocklist'),
      'PUT',
      blockListXml([blockId(0)]),
    );
    assert.equal(commit.status, 201);
    // The client sees its download cut short and waits for what the endpoint reports.
    await assert.rejects(send(blobUrl('reset.bak'), 'GET'));
    for (let i = 0; i < 10 && seen.length === 0; i++)
      await new Promise((resolve) => setImmediate(resolve));
    assert.equal(seen.length, 1);
    assert.match(seen[0] ?? '', /^GET \/hbr-backup\/reset\.bak.*ECONNRESET/);
  });

  it('holds no more request bodies at once than its budget: the other Put Blocks wait, and all complete', async () => {
    const [puts, size] = [10, 256 * KiB];
    const limit = 3 * size;
    // The endpoint's budget, watched: how many requests asked it for bytes, and had to wait.
    const inner = createByteBudget(limit);
    let [asked, waited] = [0, 0];
    const budget: ByteBudget = {
      get held() {
        return inner.held;
      },
      tryAcquire: (bytes) => inner.tryAcquire(bytes),
      acquire(bytes) {
        asked++;
        opened();
        if (inner.tryAcquire(bytes)) return Promise.resolve();
        waited++;
        return inner.acquire(bytes);
      },
      release: (bytes) => inner.release(bytes),
    };
    // The bodies the table has in hand, held there until every Put Block has come in (or, for an
    // endpoint that would read them all at once, until all are in hand).
    let [inHand, most, uncounted] = [0, 0, 0];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const opened = (): void => {
      if (asked >= puts || inHand >= puts * size) open();
    };
    const blobUrl = await start({ bodyBudget: budget }, (table) => ({
      ...table,
      async putBlock(key, id, body, signal) {
        const bytes = await body;
        inHand += bytes.length;
        most = Math.max(most, inHand);
        uncounted = Math.max(uncounted, inHand - budget.held);
        opened();
        try {
          await gate;
          await table.putBlock(key, id, Promise.resolve(bytes), signal);
        } finally {
          inHand -= bytes.length;
        }
      },
    }));

    const blocks = Array.from({ length: puts }, (_, i) => pseudoRandomBytes(size, 50 + i));
    const answers = await Promise.all(
      blocks.map((block, i) =>
        send(
          blobUrl('many.bak', `comp=block&blockid=${encodeURIComponent(blockId(i))}`),
          'PUT',
          block,
        ),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      blocks.map(() => 201),
    );
    assert.equal(uncounted, 0, 'every body held was counted in the budget');
    assert.ok(most <= limit, `${most} bytes of bodies held at once, over ${limit}`);
    assert.equal(waited, puts - limit / size, 'the Put Blocks past the budget waited');
    assert.equal(inner.held, 0);

    const ids = blocks.map((_, i) => blockId(i));
    const commit = await send(blobUrl('many.bak', 'comp=blocklist'), 'PUT', blockListXml(ids));
    assert.equal(commit.status, 201);
    const read = await send(blobUrl('many.bak'), 'GET');
    assert.ok(read.body.equals(Buffer.concat(blocks)), 'every block, in order');
  });
  it('refuses a body of no stated length (chunked) with 411, as Azure does, and stores nothing of it', async () => {
    const blobUrl = await start();
    const block = pseudoRandomBytes(64 * KiB, 90);
    // Node's client sends a body without Content-Length chunked.
    const put = open(
      blobUrl('chunked.bak', `comp=block&blockid=${encodeURIComponent(blockId(0))}`),
      'PUT',
    );
    put.req.end(block);
    const answer = await put.response;
    assert.equal(answer.status, 411);
    assert.match(answer.body.toString(), /MissingContentLengthHeader/);
    const blob = open(blobUrl('whole.bak'), 'PUT', { 'x-ms-blob-type': 'BlockBlob' });
    blob.req.end(block);
    assert.equal((await blob.response).status, 411);
    assert.equal((await send(blobUrl('whole.bak'), 'GET')).status, 404, 'no blob was made');
  });
});

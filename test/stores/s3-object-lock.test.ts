import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { StoreError } from '../../src/errors.ts';
import { createS3Store } from '../../src/stores/s3.ts';
import type { Store } from '../../src/stores/types.ts';

// A fake S3 server that keeps objects' sizes and, if `honour`, their Object Lock headers, which
// it reports back on HEAD. With `honour` false it is a server that accepts the headers and
// ignores them, which s3proxy (it answers 501) cannot be made to be.
interface FakeS3 {
  readonly endpoint: string;
  /** The headers of each PUT, by path. */
  readonly puts: Map<string, http.IncomingHttpHeaders>;
  close(): Promise<void>;
}

async function startFakeS3(honour: boolean): Promise<FakeS3> {
  const puts = new Map<string, http.IncomingHttpHeaders>();
  const sizes = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '').replace(/\?.*$/, '');
    let size = 0;
    const parts: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      parts.push(chunk);
    });
    request.on('end', () => {
      if (request.method === 'PUT' && /[?&]retention(=|&|$)/.test(request.url ?? '')) {
        // PutObjectRetention: the XML's mode and date become the object's, if honoured.
        const xml = Buffer.concat(parts).toString('utf8');
        const field = (tag: string): string | undefined =>
          new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
        if (honour && sizes.has(path)) {
          puts.set(path, {
            ...puts.get(path),
            'x-amz-object-lock-mode': field('Mode'),
            'x-amz-object-lock-retain-until-date': field('RetainUntilDate'),
          });
        }
        response.writeHead(sizes.has(path) ? 200 : 404).end();
        return;
      }
      if (request.method === 'PUT') {
        puts.set(path, request.headers);
        sizes.set(path, size);
        response.writeHead(200, { etag: '"0"' }).end();
        return;
      }
      const stored = sizes.get(path);
      if (request.method === 'HEAD' && stored !== undefined) {
        const headers: http.OutgoingHttpHeaders = { 'content-length': stored };
        const sent = puts.get(path) ?? {};
        const mode = sent['x-amz-object-lock-mode'];
        const until = sent['x-amz-object-lock-retain-until-date'];
        if (honour && mode !== undefined && until !== undefined) {
          headers['x-amz-object-lock-mode'] = mode;
          headers['x-amz-object-lock-retain-until-date'] = until;
        }
        response.writeHead(200, headers).end();
        return;
      }
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    puts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const tomorrow = (): Date => new Date(Date.now() + 86_400_000);
const servers: FakeS3[] = [];
const stores: Store[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close?.();
  for (const server of servers.splice(0)) await server.close();
});

async function lockingStore(
  honour: boolean,
  objectLock: 'GOVERNANCE' | 'COMPLIANCE' = 'GOVERNANCE',
  server?: FakeS3,
): Promise<{ store: Store; server: FakeS3 }> {
  server ??= await startFakeS3(honour);
  servers.push(server);
  const store = await createS3Store({
    bucket: 'b',
    endpoint: server.endpoint,
    pathStyle: true,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    objectLock,
  });
  stores.push(store);
  return { store, server };
}

void describe('S3 Object Lock', () => {
  void it('fails a put whose retention the server accepted but did not apply', async () => {
    const { store, server } = await lockingStore(false);
    await assert.rejects(
      store.put('data/00/x', Buffer.from('abc'), { retainUntil: tomorrow() }),
      (error: unknown) => {
        assert.ok(error instanceof StoreError, String(error));
        assert.equal(error.permanent, true);
        assert.match(error.message, /data\/00\/x.*NOT protected/);
        return true;
      },
    );
    // The store did ask for the retention: the server is the one that dropped it.
    assert.equal(server.puts.get('/b/data/00/x')?.['x-amz-object-lock-mode'], 'GOVERNANCE');
  });

  void it('accepts a put whose retention the server reports back', async () => {
    const { store } = await lockingStore(true);
    await store.put('data/00/x', Buffer.from('abc'), { retainUntil: tomorrow() });
  });

  void it('fails an extension of a retention the server accepted but did not apply', async () => {
    const { store } = await lockingStore(false);
    await store.put('data/00/y', Buffer.from('abc'));
    await assert.rejects(store.extendRetention?.('data/00/y', tomorrow()) ?? Promise.resolve(), {
      name: 'StoreError',
      message: /extend retention of data\/00\/y.*NOT protected/,
    });
  });

  void it('accepts an extension of a retention the server reports back', async () => {
    const { store } = await lockingStore(true);
    await store.put('data/00/y', Buffer.from('abc'));
    await store.extendRetention?.('data/00/y', tomorrow());
  });

  void it('never shortens a retention: an object held longer already is left as it is', async () => {
    const { store, server } = await lockingStore(true);
    const later = new Date(Date.now() + 3 * 86_400_000);
    await store.put('data/00/z', Buffer.from('abc'), { retainUntil: later });
    await store.extendRetention?.('data/00/z', tomorrow());
    assert.equal(
      server.puts.get('/b/data/00/z')?.['x-amz-object-lock-retain-until-date'],
      later.toISOString(),
    );
  });

  void it('never weakens a retention: a COMPLIANCE object stays COMPLIANCE under a GOVERNANCE store', async () => {
    const { store: compliance, server } = await lockingStore(true, 'COMPLIANCE');
    await compliance.put('data/00/c', Buffer.from('abc'), { retainUntil: tomorrow() });
    const { store: governance } = await lockingStore(true, 'GOVERNANCE', server);
    const later = new Date(Date.now() + 5 * 86_400_000);
    await governance.extendRetention?.('data/00/c', later);
    const held = server.puts.get('/b/data/00/c');
    assert.equal(held?.['x-amz-object-lock-mode'], 'COMPLIANCE');
    assert.equal(held?.['x-amz-object-lock-retain-until-date'], later.toISOString());
  });

  void it('extends a GOVERNANCE object under a COMPLIANCE store in GOVERNANCE: no bypass is sent', async () => {
    const { store: governance, server } = await lockingStore(true, 'GOVERNANCE');
    await governance.put('data/00/g', Buffer.from('abc'), { retainUntil: tomorrow() });
    const { store: compliance } = await lockingStore(true, 'COMPLIANCE', server);
    const later = new Date(Date.now() + 5 * 86_400_000);
    await compliance.extendRetention?.('data/00/g', later);
    const held = server.puts.get('/b/data/00/g');
    assert.equal(held?.['x-amz-object-lock-mode'], 'GOVERNANCE');
    assert.equal(held?.['x-amz-object-lock-retain-until-date'], later.toISOString());
  });

  void it('does not look for a retention on objects written without one', async () => {
    const { store } = await lockingStore(false);
    await store.put('locks/x', Buffer.from('abc'));
  });
});

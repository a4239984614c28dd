import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { createAzureBlobStore } from '../../src/stores/azure-blob.ts';
import type { Store } from '../../src/stores/types.ts';

// A fake Blob service that keeps each blob's immutability policy and reports it back as Azure
// does: the mode in lower case (`unlocked`, `locked`), which Azurite, ignoring policies, never
// shows. Enough of Put Blob, Get Blob Properties and Set Blob Immutability Policy for the store.
interface FakeAzure {
  readonly endpoint: string;
  /** Each blob's policy as set, by path. */
  readonly policies: Map<string, { mode: string; until: string }>;
  close(): Promise<void>;
}

async function startFakeAzure(): Promise<FakeAzure> {
  const policies = new Map<string, { mode: string; until: string }>();
  const sizes = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    let size = 0;
    request.on('data', (chunk: Buffer) => (size += chunk.byteLength));
    request.on('end', () => {
      const path = url.pathname;
      const mode = request.headers['x-ms-immutability-policy-mode'];
      const until = request.headers['x-ms-immutability-policy-until-date'];
      const common = { 'x-ms-request-id': '1', 'x-ms-version': '2023-11-03' };
      if (request.method === 'PUT') {
        const policy = url.searchParams.get('comp') === 'immutabilityPolicies';
        const held = policies.get(path);
        if (!policy && held && Date.parse(held.until) > Date.now()) {
          // An immutable blob is not overwritten.
          response
            .writeHead(409, { ...common, 'x-ms-error-code': 'BlobImmutableDueToPolicy' })
            .end();
          return;
        }
        if (policy && held?.mode === 'locked' && String(mode).toLowerCase() !== 'locked') {
          // A Locked policy can only be extended.
          response
            .writeHead(409, { ...common, 'x-ms-error-code': 'ImmutabilityPolicyModeLocked' })
            .end();
          return;
        }
        if (!policy) sizes.set(path, size);
        if (typeof mode === 'string' && typeof until === 'string')
          policies.set(path, { mode: mode.toLowerCase(), until });
        response
          .writeHead(policy ? 200 : 201, {
            ...common,
            etag: '"0x1"',
            'last-modified': new Date().toUTCString(),
          })
          .end();
        return;
      }
      const stored = sizes.get(path);
      if (request.method === 'HEAD' && stored !== undefined) {
        const policy = policies.get(path);
        response
          .writeHead(200, {
            ...common,
            'content-length': stored,
            'x-ms-blob-type': 'BlockBlob',
            etag: '"0x1"',
            'last-modified': new Date().toUTCString(),
            ...(policy
              ? {
                  'x-ms-immutability-policy-mode': policy.mode,
                  'x-ms-immutability-policy-until-date': policy.until,
                }
              : {}),
          })
          .end();
        return;
      }
      response.writeHead(404, { ...common, 'x-ms-error-code': 'BlobNotFound' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/acct`,
    policies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const tomorrow = (): Date => new Date(Date.now() + 86_400_000);
const servers: FakeAzure[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function immutableStore(
  immutability: 'Unlocked' | 'Locked',
  server?: FakeAzure,
): Promise<{ store: Store; server: FakeAzure }> {
  server ??= await startFakeAzure();
  servers.push(server);
  const store = await createAzureBlobStore({
    account: 'acct',
    container: 'c',
    endpoint: server.endpoint,
    credential: { kind: 'shared-key', accountKey: Buffer.from('key').toString('base64') },
    immutability,
  });
  return { store, server };
}

void describe('Azure immutability policies as the service reports them', () => {
  void it('accepts a put whose policy the service reports in lower case', async () => {
    const { store, server } = await immutableStore('Unlocked');
    await store.put('data/00/x', Buffer.from('abc'), { retainUntil: tomorrow() });
    assert.equal(server.policies.get('/acct/c/data/00/x')?.mode, 'unlocked');
  });

  void it('keeps a Locked policy Locked when a store set to Unlocked extends it', async () => {
    const { server } = await immutableStore('Locked');
    const { store: locked } = await immutableStore('Locked', server);
    await locked.put('data/00/y', Buffer.from('abc'), { retainUntil: tomorrow() });
    const { store: unlocked } = await immutableStore('Unlocked', server);
    await unlocked.extendRetention?.('data/00/y', new Date(Date.now() + 5 * 86_400_000));
    assert.equal(server.policies.get('/acct/c/data/00/y')?.mode, 'locked');
    // Put again (the same bytes under the same name): held as long as asked, still Locked.
    const later = new Date(Date.now() + 9 * 86_400_000);
    await unlocked.put('data/00/y', Buffer.from('abc'), { retainUntil: later });
    assert.deepEqual(server.policies.get('/acct/c/data/00/y'), {
      mode: 'locked',
      until: later.toUTCString(),
    });
  });
});

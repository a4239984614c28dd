import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BlockBlobClient } from '@azure/storage-blob';
import {
  createBlobTable,
  startBlobEndpoint,
  type BlobEndpoint,
} from '../../src/drivers/sqlserver/blob-endpoint/index.ts';
import { initRepository, startSession, type OpenRepository } from '../../src/repository/index.ts';
import { createLocalStore } from '../../src/stores/local.ts';
import { pseudoRandomBytes, tempDir } from '../helpers/temp.ts';

const MiB = 1024 * 1024;
const SIG = 'dGVzdC1zaWduYXR1cmU%3D';
const sas = `sv=2020-10-02&sr=c&sp=racwdl&sig=${SIG}`;
const blockId = (i: number): string =>
  Buffer.from(`block-${String(i).padStart(6, '0')}`).toString('base64');

/** A backup stream as SQL Server would write it: 8 KiB pages, a header page that changes. */
function backupStream(pages: number, seed: number, changed: readonly number[] = []): Buffer {
  const stream = pseudoRandomBytes(pages * 8192, seed);
  for (const page of changed) pseudoRandomBytes(8192, 1000 + page).copy(stream, page * 8192);
  return stream;
}

/** Writes a stream through the endpoint as SQL Server does: 4 MiB blocks, then a re-sent first block, then the block list. */
async function writeAsSqlServer(client: BlockBlobClient, stream: Buffer): Promise<void> {
  const ids: string[] = [];
  for (let at = 0, i = 0; at < stream.length; at += 4 * MiB, i++) {
    ids.push(blockId(i));
    await client.stageBlock(
      blockId(i),
      stream.subarray(at, Math.min(at + 4 * MiB, stream.length)),
      Math.min(4 * MiB, stream.length - at),
    );
  }
  // SQL Server finishes by rewriting the media header at the start of the backup.
  await client.stageBlock(blockId(0), stream.subarray(0, 4 * MiB), 4 * MiB);
  await client.commitBlockList(ids);
}

describe('the blob endpoint for BACKUP TO URL / RESTORE FROM URL, driven by the Azure SDK', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let repo: OpenRepository;
  const endpoints: BlobEndpoint[] = [];
  before(async () => {
    dir = await tempDir();
    repo = await initRepository(
      createLocalStore({ path: dir.path }),
      { kind: 'password', password: 'pw' },
      { scryptParams: { N: 1024, r: 8, p: 1 }, packSize: 8 * MiB },
    );
  });
  after(async () => {
    for (const e of endpoints) await e.close();
    await dir.remove();
  });

  async function commit(
    session: Awaited<ReturnType<typeof startSession>>,
    endpoint: BlobEndpoint,
  ): Promise<{ id: string; addedBytes: number }> {
    void endpoint;
    const committedTable = lastTable;
    for (const blob of committedTable?.committed('hbr-backup') ?? [])
      session.addStoredArtifact(blob.name, blob);
    const record = await session.commit({
      source: 'sql',
      kind: 'sqlserver',
      type: 'full',
      startedAt: new Date(),
    });
    return { id: record.id, addedBytes: record.summary.addedBytes };
  }
  let lastTable: ReturnType<typeof createBlobTable> | undefined;

  it('stores a 4 MiB-block backup stream, serves ranged reads of it before commit, and deduplicates the next full', async () => {
    const first = backupStream(1800, 1); // ~14 MiB
    const session = await startSession(repo);
    lastTable = createBlobTable({ session, repo });
    const endpoint = await startBlobEndpoint({
      table: lastTable,
      signature: decodeURIComponent(SIG),
    });
    endpoints.push(endpoint);
    const client = new BlockBlobClient(`${endpoint.url}/hbr-backup/Hartonomous_FULL.bak?${sas}`);
    await writeAsSqlServer(client, first);
    await session.flush();
    assert.equal((await client.getProperties()).contentLength, first.length);
    assert.ok(
      (await client.downloadToBuffer(5 * MiB + 123, 3 * MiB)).equals(
        first.subarray(5 * MiB + 123, 8 * MiB + 123),
      ),
    );
    const one = await commit(session, endpoint);
    assert.ok(one.addedBytes > first.length * 0.95);

    // The next weekly full: the same database with 24 pages changed in two hot spots. (Changes
    // scattered over every MiB cost a chunk of about 1 MiB each: the db profile's granularity.)
    const second = backupStream(1800, 1, [
      ...Array.from({ length: 12 }, (_, i) => 400 + i),
      ...Array.from({ length: 12 }, (_, i) => 1500 + i),
    ]);
    const session2 = await startSession(repo);
    lastTable = createBlobTable({ session: session2, repo });
    const endpoint2 = await startBlobEndpoint({
      table: lastTable,
      signature: decodeURIComponent(SIG),
    });
    endpoints.push(endpoint2);
    await writeAsSqlServer(
      new BlockBlobClient(`${endpoint2.url}/hbr-backup/Hartonomous_FULL.bak?${sas}`),
      second,
    );
    const two = await commit(session2, endpoint2);
    assert.ok(
      two.addedBytes < second.length * 0.4,
      `second full added ${two.addedBytes} of ${second.length}`,
    );

    // RESTORE FROM URL of the second full: served from the committed backup, read in 4 MiB ranges.
    const restoreEndpoint = await startBlobEndpoint({
      table: createBlobTable({
        repo,
        published: new Map([
          ['restore/Hartonomous_FULL.bak', { backupId: two.id, artifact: 'Hartonomous_FULL.bak' }],
        ]),
      }),
      signature: decodeURIComponent(SIG),
    });
    endpoints.push(restoreEndpoint);
    const reader = new BlockBlobClient(
      `${restoreEndpoint.url}/restore/Hartonomous_FULL.bak?${sas}`,
    );
    const size = (await reader.getProperties()).contentLength ?? 0;
    assert.equal(size, second.length);
    const parts: Buffer[] = [];
    for (let at = 0; at < size; at += 4 * MiB)
      parts.push(await reader.downloadToBuffer(at, Math.min(4 * MiB, size - at)));
    assert.ok(Buffer.concat(parts).equals(second));
    await assert.rejects(
      reader.stageBlock(blockId(0), Buffer.alloc(10), 10),
      (e: { statusCode?: number }) => e.statusCode === 400,
    );
    // The refused write left no empty blob in the published one's place.
    assert.equal((await reader.getProperties()).contentLength, second.length);
    assert.ok((await reader.downloadToBuffer(0, MiB)).equals(second.subarray(0, MiB)));
  });

  it('serves stripes read at once right after their commit (RESTORE VERIFYONLY)', async () => {
    const session = await startSession(repo);
    const endpoint = await startBlobEndpoint({
      table: createBlobTable({ session, repo }),
      signature: decodeURIComponent(SIG),
    });
    endpoints.push(endpoint);
    const stripes = [backupStream(400, 21), backupStream(400, 22)];
    const clients = stripes.map(
      (_, i) => new BlockBlobClient(`${endpoint.url}/hbr-backup/db_${i + 1}of2.bak?${sas}`),
    );
    for (const [i, client] of clients.entries()) {
      await client.stageBlock(blockId(0), stripes[i]!, stripes[i]!.length);
      await client.commitBlockList([blockId(0)]);
    }
    // Neither read may skip the flush the other started.
    const reads = await Promise.all(clients.map((client) => client.downloadToBuffer(0, MiB)));
    reads.forEach((read, i) =>
      assert.ok(read.equals(stripes[i]!.subarray(0, MiB)), `stripe ${i + 1}`),
    );
    await session.abort();
  });

  it('takes leases as SQL Server does and refuses requests without the right signature', async () => {
    const session = await startSession(repo);
    const endpoint = await startBlobEndpoint({
      table: createBlobTable({ session, repo }),
      signature: decodeURIComponent(SIG),
    });
    endpoints.push(endpoint);
    const client = new BlockBlobClient(`${endpoint.url}/hbr-backup/log.trn?${sas}`);
    const lease = client.getBlobLeaseClient('BAC2BAC2-BAC2-BAC2-BAC2-BAC2BAC2BAC2');
    assert.equal((await lease.acquireLease(-1)).leaseId, 'BAC2BAC2-BAC2-BAC2-BAC2-BAC2BAC2BAC2');
    await client.upload(Buffer.from('small log backup'), 16, {
      conditions: { leaseId: 'BAC2BAC2-BAC2-BAC2-BAC2-BAC2BAC2BAC2' },
    });
    await lease.releaseLease();
    assert.equal((await client.downloadToBuffer()).toString(), 'small log backup');
    const forged = new BlockBlobClient(
      `${endpoint.url}/hbr-backup/log.trn?sv=2020-10-02&sig=${randomBytes(12).toString('base64url')}`,
    );
    await assert.rejects(
      forged.getProperties(),
      (e: { statusCode?: number }) => e.statusCode === 403,
    );
    await session.abort();
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pseudoRandomBytes, tempDir } from '../../../test/helpers/temp.ts';
import { artifactRepository } from '../../repository/artifacts.ts';
import type { RepositorySession } from '../../repository/index.ts';
import {
  initRepository,
  openRepository,
  type OpenRepository,
} from '../../repository/repository.ts';
import { createLocalStore } from '../../stores/local.ts';
import { ENTRY_BOUNDARY } from './dump-tar.ts';
import { addSegmentedArtifact, type SegmentedItem } from './segmented-save.ts';

const fast = { scryptParams: { N: 1024, r: 8, p: 1 }, packSize: 4 * 1024 * 1024 };
const password = { kind: 'password' as const, password: 'correct horse' };
const KiB = 1024;

/** Three "files" with boundaries between them, fed in 64 KiB pieces like a pipe would. */
function* items(parts: Buffer[]): Generator<SegmentedItem> {
  for (const [i, part] of parts.entries()) {
    if (i > 0) yield ENTRY_BOUNDARY;
    for (let at = 0; at < part.length; at += 64 * KiB) yield part.subarray(at, at + 64 * KiB);
  }
}

describe('segmented dump content in a repository', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let repo: OpenRepository;
  beforeEach(async () => {
    dir = await tempDir();
    const store = createLocalStore({ path: dir.path });
    await initRepository(store, password, fast);
    repo = await openRepository(store, password);
  });
  afterEach(async () => dir.remove());

  async function backup(parts: Buffer[]): Promise<{ id: string; added: number }> {
    const artifacts = artifactRepository(repo);
    const session = (await artifacts.startBackup()) as RepositorySession;
    await addSegmentedArtifact(session, 'neo4j.dump-content', Readable.from(items(parts)));
    const record = await session.commit({
      source: 's',
      kind: 'neo4j',
      type: 'full',
      startedAt: new Date(),
    });
    return { id: record.id, added: session.stats.newRawBytes };
  }

  it('reads back byte for byte, with the hash of the whole stream', async () => {
    const parts = [
      pseudoRandomBytes(1500 * KiB, 1),
      pseudoRandomBytes(40 * KiB, 2),
      Buffer.alloc(0),
      pseudoRandomBytes(700 * KiB, 3),
    ];
    const { id } = await backup(parts);
    const whole = Buffer.concat(parts);
    const [info] = await artifactRepository(repo).listArtifacts(id);
    assert.equal(info?.size, whole.length);
    assert.equal(info?.sha256, createHash('sha256').update(whole).digest('hex'));
    assert.deepEqual(
      await buffer(artifactRepository(repo).openArtifact(id, 'neo4j.dump-content')),
      whole,
    );
  });

  it('a changed small segment between two large ones stores only that segment again', async () => {
    const big1 = pseudoRandomBytes(3 * 1024 * KiB, 1);
    const big2 = pseudoRandomBytes(3 * 1024 * KiB, 3);
    await backup([big1, pseudoRandomBytes(24 * KiB, 2), big2]);
    const second = await backup([big1, pseudoRandomBytes(24 * KiB, 4), big2]);
    // The changed segment plus the backup's small tree blob; no neighbouring bytes.
    assert.ok(second.added >= 24 * KiB && second.added < 28 * KiB, `added ${second.added}`);
  });
});

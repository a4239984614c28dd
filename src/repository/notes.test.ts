import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/temp.ts';
import { createLocalStore } from '../stores/local.ts';
import { artifactRepository } from './artifacts.ts';
import { addNote, listNotes } from './notes.ts';
import { forgetBackups } from './prune.ts';
import { replicateRepository } from './replicate.ts';
import { initRepository, openRepository } from './repository.ts';

describe('notes about committed backups', () => {
  it('are stored with their backup, travel to a replica, and go when the backup is forgotten', async () => {
    const dir = await tempDir();
    try {
      const store = createLocalStore({ path: `${dir.path}/repo` });
      const credential = { kind: 'password', password: 'pw' } as const;
      const repo = await initRepository(store, credential, {
        scryptParams: { N: 1024, r: 8, p: 1 },
      });
      const session = await artifactRepository(repo).startBackup();
      await session.addArtifact('graph.dump', Readable.from([Buffer.from('dump bytes')]));
      const backup = await session.commit({
        source: 'g',
        kind: 'neo4j',
        type: 'full',
        startedAt: new Date(),
      });

      await addNote(repo, backup.shortId, 'verification', { consistent: true, checkedAt: 'now' });
      await addNote(repo, backup.id, 'restore-check', { counts: { Atom: 3 } });
      const notes = await listNotes(repo, backup.id);
      assert.deepEqual(
        notes.map((n) => [n.kind, n.data]),
        [
          ['verification', { consistent: true, checkedAt: 'now' }],
          ['restore-check', { counts: { Atom: 3 } }],
        ],
      );
      await assert.rejects(addNote(repo, 'ffffffff', 'verification', {}), {
        name: 'NotFoundError',
      });

      const replicaStore = createLocalStore({ path: `${dir.path}/replica` });
      await replicateRepository(store, replicaStore, { keys: repo.keys, keyId: repo.keyId });
      const replica = await openRepository(replicaStore, credential);
      assert.equal((await listNotes(replica, backup.id)).length, 2);

      await forgetBackups(repo, [backup.id]);
      const left: string[] = [];
      for await (const { key } of store.list('notes/')) left.push(key);
      assert.deepEqual(left, []);
    } finally {
      await dir.remove();
    }
  });
});

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/temp.ts';
import { DeleteForbiddenError, StoreError } from '../errors.ts';
import { createLocalStore } from '../stores/local.ts';
import type { Store } from '../stores/types.ts';
import { FORGOTTEN_PREFIX, readForgotten, replaceForgotten } from './forgotten.ts';
import { forgetBackups } from './prune.ts';
import { initRepository, openRepository, type OpenRepository } from './repository.ts';
import { startSession } from './session.ts';

async function repositoryOn(store: Store): Promise<OpenRepository> {
  const credential = { kind: 'password', password: 'pw' } as const;
  await initRepository(store, credential, { scryptParams: { N: 1024, r: 8, p: 1 } });
  return openRepository(store, credential);
}

async function keysOf(repo: OpenRepository): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of repo.store.list(FORGOTTEN_PREFIX)) keys.push(key);
  return keys;
}

/** `local`, whose deletes of manifests fail while `refuse` is set (a forget that fails midway). */
function snapshotDeletesRefused(local: Store): { store: Store; refuse: boolean } {
  const refusing = { refuse: false, store: local };
  refusing.store = {
    ...local,
    delete: (key, options) =>
      refusing.refuse && key.startsWith('snapshots/')
        ? Promise.reject(new StoreError(`[store:test] delete ${key}: 500`, { permanent: true }))
        : local.delete(key, options),
  };
  return refusing;
}

describe("forget's record of what it removed", () => {
  it('is one object however many forgets ran: each merges and replaces those before it', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const repo = await repositoryOn(createLocalStore({ path: dir.path }));
    assert.deepEqual(await readForgotten(repo), { keys: [], entries: new Map(), held: new Map() });

    // Two forgets at once: each read nothing and wrote its own.
    const empty = await readForgotten(repo);
    await replaceForgotten(repo, empty, new Map([['sales', ['a']]]));
    await replaceForgotten(
      repo,
      empty,
      new Map([
        ['sales', ['b']],
        ['hr', ['c']],
      ]),
    );
    const both = await readForgotten(repo);
    assert.equal(both.keys.length, 2);
    assert.deepEqual([...both.entries.get('sales')!].sort(), ['a', 'b']);
    // The next one merges them into one object.
    await replaceForgotten(repo, both, both.entries);
    const merged = await readForgotten(repo);
    assert.deepEqual(merged.keys, await keysOf(repo));
    assert.equal(merged.keys.length, 1);
    // Nothing new: nothing written, nothing deleted.
    await replaceForgotten(repo, merged, merged.entries);
    assert.deepEqual(await keysOf(repo), merged.keys);
    // Nothing left to record: no object.
    await replaceForgotten(repo, merged, new Map([['sales', []]]));
    assert.deepEqual(await keysOf(repo), []);
  });

  it('skips and keeps an object it cannot read', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const repo = await repositoryOn(createLocalStore({ path: dir.path }));
    const damaged = `${FORGOTTEN_PREFIX}${'0'.repeat(64)}`;
    await repo.store.put(damaged, Buffer.from('not sealed'));
    const before = await readForgotten(repo);
    assert.deepEqual(before, { keys: [], entries: new Map(), held: new Map() });
    await replaceForgotten(repo, before, new Map([['sales', ['a']]]));
    assert.ok((await keysOf(repo)).includes(damaged));
  });

  it('is written by forget before any manifest is deleted', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const refusing = snapshotDeletesRefused(createLocalStore({ path: dir.path }));
    const repo = await repositoryOn(refusing.store);
    const backup = await commitOne(repo);
    refusing.refuse = true;
    const remember = (): Map<string, string[]> => new Map([['sales', [backup.id]]]);
    await assert.rejects(forgetBackups(repo, [backup.id], { remember }), /delete snapshots/);
    assert.deepEqual((await readForgotten(repo)).entries.get('sales'), [backup.id]);
    assert.equal((await repo.backups()).length, 1);
  });

  it('is rewritten by forget once the manifests are deleted, not before', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const refusing = snapshotDeletesRefused(createLocalStore({ path: dir.path }));
    const repo = await repositoryOn(refusing.store);
    const backup = await commitOne(repo);
    // What a backup running meanwhile needs (every set removed), then what the rule leaves.
    const remember = (_: unknown, deleted: boolean) =>
      new Map([['sales', [deleted ? 'judged' : 'every']]]);
    refusing.refuse = true;
    await assert.rejects(forgetBackups(repo, [backup.id], { remember }), /delete snapshots/);
    assert.deepEqual((await readForgotten(repo)).entries.get('sales'), ['every']);
    refusing.refuse = false;
    await forgetBackups(repo, [backup.id], { remember });
    const record = await readForgotten(repo);
    assert.deepEqual(record.entries.get('sales'), ['judged']);
    assert.equal(record.keys.length, 1);
  });

  it('does not stop forget where the store keeps old record objects (immutability)', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const local = createLocalStore({ path: dir.path });
    // As S3 Object Lock or Azure immutability refuse: every object but locks has a retain-until.
    const store: Store = {
      ...local,
      delete: (key, options) =>
        key.startsWith(FORGOTTEN_PREFIX)
          ? Promise.reject(new DeleteForbiddenError(`[store:test] delete ${key}: retained`))
          : local.delete(key, options),
    };
    const repo = await repositoryOn(store);
    const grows = (id: string) => (recorded: ReadonlyMap<string, readonly unknown[]>) =>
      new Map([['sales', [...new Set([...(recorded.get('sales') ?? []), id])]]]);
    for (const n of [1, 2, 3]) {
      const backup = await commitOne(repo);
      await forgetBackups(repo, [backup.id], { remember: grows(`set${n}`) });
      assert.equal((await repo.backups()).length, 0, `forget ${n} deleted its manifest`);
    }
    const record = await readForgotten(repo);
    assert.deepEqual([...new Set(record.entries.get('sales'))].sort(), ['set1', 'set2', 'set3']);
    // Nothing new: the newest object holds it all, so no object is written.
    const before = await keysOf(repo);
    await forgetBackups(repo, [], { remember: grows('set3') });
    assert.deepEqual((await keysOf(repo)).sort(), before.sort());
  });

  it('lists again when an object it listed was replaced meanwhile', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const local = createLocalStore({ path: dir.path });
    let stale: string | undefined;
    // The first listing is the one taken before a concurrent forget replaced the object.
    const store: Store = {
      ...local,
      list: (prefix, options) => {
        if (stale === undefined || prefix !== FORGOTTEN_PREFIX) return local.list(prefix, options);
        const old = stale;
        stale = undefined;
        return Readable.from([{ key: old, size: 1, lastModified: new Date() }]);
      },
    };
    const repo = await repositoryOn(store);
    await replaceForgotten(repo, await readForgotten(repo), new Map([['sales', ['a']]]));
    stale = `${FORGOTTEN_PREFIX}${'1'.repeat(64)}`;
    assert.deepEqual((await readForgotten(repo)).entries.get('sales'), ['a']);
    assert.equal(stale, undefined);
  });
});

/** A backup of source `sales`, committed. */
async function commitOne(repo: OpenRepository): Promise<{ id: string }> {
  const session = await startSession(repo);
  await session.addArtifact('a.bak', Readable.from([Buffer.from('x')]));
  return session.commit({
    source: 'sales',
    kind: 'sqlserver',
    type: 'full',
    startedAt: new Date(),
  });
}

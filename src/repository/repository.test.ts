import assert from 'node:assert/strict';
import { open, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { flipStoredByte } from '../../test/helpers/damage.ts';
import { pseudoRandomBytes, tempDir, textBytes } from '../../test/helpers/temp.ts';
import { createLocalStore } from '../stores/local.ts';
import type { Store } from '../stores/types.ts';
import { artifactRepository } from './artifacts.ts';
import { checkRepository } from './check.ts';
import { readContent } from './content.ts';
import { sealObject, sha256Hex } from './crypto.ts';
import type { Credential } from './keys.ts';
import { manifestKey } from './manifest.ts';
import { listNotes, notesPrefix } from './notes.ts';
import { initRepository, openRepository } from './repository.ts';
import { startSession } from './session.ts';
import type { TreeNode } from './tree.ts';

const fast = { scryptParams: { N: 1024, r: 8, p: 1 }, packSize: 4 * 1024 * 1024 };
const password: Credential = { kind: 'password', password: 'correct horse' };

describe('repository', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let store: Store;
  beforeEach(async () => {
    dir = await tempDir();
    store = createLocalStore({ path: dir.path });
  });
  afterEach(async () => dir.remove());

  it('opens with the password it was created with and refuses a wrong one', async () => {
    const created = await initRepository(store, password, fast);
    const opened = await openRepository(store, password);
    assert.equal(opened.config.id, created.config.id);
    await assert.rejects(openRepository(store, { kind: 'password', password: 'wrong' }), {
      name: 'WrongPasswordError',
    });
  });

  it('tells its caller when a key derivation has started, before it ends', async () => {
    await initRepository(store, password, fast);
    const events: string[] = [];
    const opening = openRepository(store, password, {
      onDeriveKey: () => events.push('deriving'),
    }).then(() => events.push('opened'));
    await opening;
    assert.deepEqual(events, ['deriving', 'opened']);
  });

  it('refuses to create a second repository in the same place', async () => {
    await initRepository(store, password, fast);
    await assert.rejects(initRepository(store, password, fast), { name: 'UsageError' });
  });

  it('reads the key files while it reads the config, not one round trip after the other', async () => {
    await initRepository(store, password, fast);
    let listed = false;
    let keysListedDuringConfigRead = false;
    const watched: Store = {
      ...store,
      async get(key, options) {
        if (key !== 'config') return store.get(key, options);
        await new Promise((resolve) => setImmediate(resolve)); // a round trip, however short
        keysListedDuringConfigRead = listed;
        return store.get(key, options);
      },
      list(prefix, options) {
        if (prefix === 'keys/') listed = true;
        return store.list(prefix, options);
      },
    };
    await openRepository(watched, password);
    assert.ok(keysListedDuringConfigRead);
  });

  it('says there is no repository where there is none', async () => {
    await assert.rejects(openRepository(store, password), { name: 'RepositoryNotFoundError' });
  });

  it('opens with a key file as well as a password once the key is added', async () => {
    const repo = await initRepository(
      store,
      { kind: 'keyFile', secret: pseudoRandomBytes(32, 7) },
      fast,
    );
    const { addKey } = await import('./keys.ts');
    await addKey(store, repo.masterKey, password, { scryptParams: fast.scryptParams });
    const viaPassword = await openRepository(store, password);
    const viaKey = await openRepository(store, {
      kind: 'keyFile',
      secret: pseudoRandomBytes(32, 7),
    });
    assert.equal(viaPassword.config.id, viaKey.config.id);
    await assert.rejects(
      openRepository(store, { kind: 'keyFile', secret: pseudoRandomBytes(32, 8) }),
      { name: 'WrongPasswordError' },
    );
  });

  it('opens with an intact key while another key file is damaged, and says which one is', async () => {
    const keyFile = { kind: 'keyFile', secret: pseudoRandomBytes(32, 7) } as const;
    const repo = await initRepository(store, keyFile, fast);
    const { addKey } = await import('./keys.ts');
    await addKey(store, repo.masterKey, password, { scryptParams: fast.scryptParams });
    // The key file's key damaged (a byte of its sealed key flipped), and a stray object beside.
    for (const id of await readdir(join(dir.path, 'keys'))) {
      const bytes = await readFile(join(dir.path, 'keys', id));
      if ((JSON.parse(bytes.toString()) as { kdf: string }).kdf !== 'keyfile') continue;
      bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 1;
      await writeFile(join(dir.path, 'keys', id), bytes);
    }
    await writeFile(join(dir.path, 'keys', 'README'), 'not a key');
    assert.equal((await openRepository(store, password)).config.id, repo.config.id);
    await assert.rejects(openRepository(store, keyFile), {
      name: 'IntegrityError',
      message: /no intact key opens.*does not match its name/,
    });
  });

  it('opens past a key file of another repository that opens with the same password', async () => {
    // Each repository holds a copy of the other's key file: in at least one of them the foreign
    // key is tried first (keys are tried oldest first), opens, and holds the wrong master key.
    const other = await tempDir();
    try {
      const otherStore = createLocalStore({ path: other.path });
      const mine = await initRepository(store, password, fast);
      const theirs = await initRepository(otherStore, password, fast);
      const [myKey] = await readdir(join(dir.path, 'keys'));
      const [theirKey] = await readdir(join(other.path, 'keys'));
      if (!myKey || !theirKey) throw new Error('no key file written');
      await writeFile(
        join(dir.path, 'keys', theirKey),
        await readFile(join(other.path, 'keys', theirKey)),
      );
      await writeFile(
        join(other.path, 'keys', myKey),
        await readFile(join(dir.path, 'keys', myKey)),
      );
      assert.equal((await openRepository(store, password)).config.id, mine.config.id);
      assert.equal((await openRepository(otherStore, password)).config.id, theirs.config.id);
      // A damaged config is still reported as such, not as a wrong password.
      const config = await readFile(join(dir.path, 'config'));
      config[config.length - 1] = (config[config.length - 1] ?? 0) ^ 1;
      await writeFile(join(dir.path, 'config'), config);
      await assert.rejects(openRepository(store, password), {
        name: 'IntegrityError',
        message: /config/,
      });
    } finally {
      await other.remove();
    }
  });

  it('skips a backup or note sealed with the key whose content is not JSON, as damage', async () => {
    // Whoever holds a key can write one; before, its SyntaxError stopped every command.
    const repo = await initRepository(store, password, fast);
    const session = await artifactRepository(repo).startBackup();
    await session.addArtifact('a.txt', Readable.from([Buffer.from('a')]));
    const backup = await session.commit({
      source: 's',
      kind: 'test',
      type: 'full',
      startedAt: new Date(),
    });
    const forged = sealObject(repo.keys, 'snapshot', Buffer.from('not json'));
    await store.put(manifestKey(sha256Hex(forged)), forged);
    const note = sealObject(repo.keys, 'note', Buffer.from('not json'));
    await store.put(`${notesPrefix(backup.id)}${sha256Hex(note)}`, note);
    const opened = await openRepository(store, password);
    assert.deepEqual(
      (await opened.backups()).map((b) => b.id),
      [backup.id],
    );
    assert.deepEqual(await listNotes(opened, backup.id), []);
    await assert.rejects(opened.findBackup(sha256Hex(forged)), { name: 'IntegrityError' });
  });

  it('stores artifacts, lists them and streams them back byte for byte, ranges too', async () => {
    const repo = await initRepository(store, password, fast);
    const artifacts = artifactRepository(repo);
    const random = pseudoRandomBytes(9 * 1024 * 1024, 3);
    const text = textBytes(3 * 1024 * 1024, 4);
    const session = await artifacts.startBackup();
    await session.addArtifact(
      'weights.bin',
      Readable.from([random.subarray(0, 5_000_000), random.subarray(5_000_000)]),
    );
    await session.addArtifact('log.txt', Readable.from([text]));
    const record = await session.commit({
      source: 'db',
      kind: 'test',
      type: 'full',
      startedAt: new Date(),
    });

    const [listed] = await artifacts.listBackups();
    assert.equal(listed?.id, record.id);
    assert.deepEqual(
      (await artifacts.listArtifacts(record.id)).map((a) => [a.path, a.size]).sort(),
      [
        ['log.txt', text.length],
        ['weights.bin', random.length],
      ],
    );
    assert.ok((await buffer(artifacts.openArtifact(record.shortId, 'weights.bin'))).equals(random));
    assert.ok((await buffer(artifacts.openArtifact('latest', 'log.txt'))).equals(text));
    await assert.rejects(artifacts.findBackup('0'.repeat(64)), { name: 'NotFoundError' });
    await assert.rejects(artifacts.findBackup(record.id, { source: 'other' }), {
      name: 'NotFoundError',
    });
    const range = await artifacts.readArtifactRange(record.id, 'weights.bin', 4_000_000, 3_000_000);
    assert.ok(range.equals(random.subarray(4_000_000, 7_000_000)));
    // Compressible data is stored smaller than it is.
    assert.ok(record.summary.addedBytes < random.length + text.length * 0.7);
  });

  it('stores a file cut by the workers as its stream, and what is left of one that shrank', async () => {
    const repo = await initRepository(store, password, fast);
    const data = pseudoRandomBytes(12 * 1024 * 1024, 5);
    const path = join(dir.path, 'weights.bin');
    await writeFile(path, data);
    const session = await startSession(repo);
    try {
      const streamed = await session.saveContent(Readable.from([data]), {
        profile: 'model',
        wholeHash: false,
      });
      const handle = await open(path, 'r');
      try {
        // Cut on the workers, a changed version of a stored file or a new one, read again for
        // each chunk or once into the cut's ring: the same blobs.
        assert.deepEqual(await session.saveFileCut(handle.fd), streamed);
        for (const readOnce of [false, true]) {
          const cut = await session.saveFileCut(handle.fd, { mostlyNew: true, readOnce });
          assert.deepEqual(cut, streamed, `readOnce: ${readOnce}`);
        }
        assert.ok(streamed.content.length > 3);
        // Stopped midway: its error, once no read of the file is left in flight; the ring is
        // given back (the next file has it).
        for (const readOnce of [false, true]) {
          const stop = new AbortController();
          await assert.rejects(
            session.saveFileCut(handle.fd, {
              mostlyNew: true,
              readOnce,
              signal: stop.signal,
              onBytes: () => stop.abort(new Error('the disk went away')),
            }),
            /the disk went away/,
          );
        }
        // The file loses its second half after the caller saw its size.
        await truncate(path, data.length / 2);
        for (const readOnce of [false, true]) {
          const shrunk = await session.saveFileCut(handle.fd, { mostlyNew: true, readOnce });
          assert.equal(shrunk.size, data.length / 2);
          await session.flush();
          const back = await buffer(readContent(repo, shrunk, { what: 'shrunk' }));
          assert.ok(back.equals(data.subarray(0, data.length / 2)));
        }
      } finally {
        await handle.close();
      }
    } finally {
      await session.abort();
    }
  });

  it('stores a new file cut by the workers chunk by chunk: the blobs of its stream', async () => {
    const repo = await initRepository(store, password, fast);
    const data = pseudoRandomBytes(12 * 1024 * 1024, 7);
    const path = join(dir.path, 'new.bin');
    await writeFile(path, data);
    const session = await startSession(repo);
    try {
      const handle = await open(path, 'r');
      let reported = 0;
      const cut = await session
        .saveFileCut(handle.fd, { mostlyNew: true, onBytes: (n) => (reported += n) })
        .finally(() => handle.close());
      assert.equal(cut.size, data.length);
      assert.equal(reported, data.length);
      assert.ok(cut.content.length > 3);
      assert.equal(session.stats.newBlobs, new Set(cut.content).size);
      assert.equal(session.stats.knownBlobs, 0);
      const streamed = await session.saveContent(Readable.from([data]), {
        profile: 'model',
        wholeHash: false,
      });
      assert.deepEqual(cut, streamed);
      await session.flush();
      assert.ok((await buffer(readContent(repo, cut, { what: 'new' }))).equals(data));
    } finally {
      await session.abort();
    }
  });

  it('stores a changed version of the same size along its stored chunks', async () => {
    const repo = await initRepository(store, password, fast);
    const data = pseudoRandomBytes(12 * 1024 * 1024, 6);
    const path = join(dir.path, 'along.bin');
    await writeFile(path, data);
    const session = await startSession(repo);
    try {
      const first = await session.saveContent(Readable.from([data]), {
        profile: 'model',
        wholeHash: false,
      });
      await session.flush();
      assert.ok(first.content.length > 3);
      // Rewritten in place inside its third chunk: that chunk is new, the others are the same.
      const lengths = await Promise.all(
        first.content.map(
          async (id) => (await repo.index()).get(Buffer.from(id, 'hex'))?.rawLength,
        ),
      );
      const third = (lengths[0] ?? 0) + (lengths[1] ?? 0) + 100;
      const changed = Buffer.from(data);
      pseudoRandomBytes(4096, 7).copy(changed, third);
      await writeFile(path, changed);
      const handle = await open(path, 'r');
      try {
        const counted = { ...session.stats };
        const along = await session.saveFileAlong(handle.fd, first.content, changed.length);
        assert.ok(along);
        assert.equal(along.size, changed.length);
        // Only the changed chunk is stored; the others are found stored by their hashes.
        assert.equal(session.stats.newBlobs - counted.newBlobs, 1);
        assert.equal(session.stats.knownBlobs - counted.knownBlobs, first.content.length - 1);
        assert.deepEqual(
          along.content.map((id, i) => id === first.content[i]),
          first.content.map((_, i) => i !== 2),
        );
        await session.flush();
        assert.ok((await buffer(readContent(repo, along, { what: 'along' }))).equals(changed));
        // Another size, or a chunk the index does not know: not along them.
        assert.equal(
          await session.saveFileAlong(handle.fd, first.content, changed.length + 1),
          undefined,
        );
        assert.equal(await session.saveFileAlong(handle.fd, ['0'.repeat(64)], 1), undefined);
        // Bytes moved (ten inserted near the start, ten cut from the end): nothing is stored
        // along the old chunks, all of which would be new; cut, the file keeps most of them.
        const moved = Buffer.concat([
          changed.subarray(0, 1000),
          Buffer.from('ten bytes!'),
          changed.subarray(1000, changed.length - 10),
        ]);
        await writeFile(path, moved);
        const stats = { ...session.stats };
        assert.equal(
          await session.saveFileAlong(handle.fd, along.content, moved.length),
          undefined,
        );
        assert.equal(session.stats.newBlobs, stats.newBlobs, 'nothing stored');
        const cut = await session.saveFileCut(handle.fd);
        assert.ok(
          cut.content.filter((id) => along.content.includes(id)).length >= along.content.length - 3,
        );
        // Shrunk: cut too (the cut stores what is left).
        await writeFile(path, changed);
        await truncate(path, 5 * 1024 * 1024);
        assert.equal(
          await session.saveFileAlong(handle.fd, first.content, changed.length),
          undefined,
        );
      } finally {
        await handle.close();
      }
    } finally {
      await session.abort();
    }
  });

  it('deduplicates: a second backup of the same bytes adds almost nothing', async () => {
    const repo = await initRepository(store, password, fast);
    const artifacts = artifactRepository(repo);
    const data = pseudoRandomBytes(8 * 1024 * 1024, 5);
    const first = await artifacts.startBackup();
    await first.addArtifact('a.bak', Readable.from([data]));
    const one = await first.commit({
      source: 'db',
      kind: 'test',
      type: 'full',
      startedAt: new Date(),
    });
    const second = await artifacts.startBackup();
    await second.addArtifact('a.bak', Readable.from([data]));
    const two = await second.commit({
      source: 'db',
      kind: 'test',
      type: 'full',
      startedAt: new Date(),
    });
    assert.ok(one.summary.addedBytes > data.length * 0.99);
    assert.ok(two.summary.addedBytes < 4096, `second backup added ${two.summary.addedBytes} bytes`);
  });

  it('leaves no backup when a session is abandoned, and the next one reuses its uploads', async () => {
    const repo = await initRepository(store, password, fast);
    const artifacts = artifactRepository(repo);
    const data = pseudoRandomBytes(12 * 1024 * 1024, 6);
    const dying = await artifacts.startBackup();
    await dying.addArtifact('a.bak', Readable.from([data])); // packs of 4 MiB get uploaded
    await dying.abort(); // as if the process died before commit: no index of the last packs, no manifest
    assert.equal((await artifacts.listBackups()).length, 0);
    // The pack being filled is given up: its temporary file too.
    assert.deepEqual(
      (await readdir(dir.path)).filter((n) => n.startsWith('.tmp-')),
      [],
    );
    assert.ok((await checkRepository(repo)).ok);

    const reopened = artifactRepository(await openRepository(store, password));
    const next = await reopened.startBackup();
    await next.addArtifact('a.bak', Readable.from([data]));
    const record = await next.commit({
      source: 'db',
      kind: 'test',
      type: 'full',
      startedAt: new Date(),
    });
    assert.ok(
      record.summary.addedBytes < data.length / 2,
      `added ${record.summary.addedBytes} of ${data.length}`,
    );
    assert.ok((await buffer(reopened.openArtifact(record.id, 'a.bak'))).equals(data));
  });

  it('reads back a tree larger than the codec workers take, and refuses it damaged', async () => {
    const repo = await initRepository(store, password, fast);
    const session = await startSession(repo);
    // Random blob ids: 600 nodes make a tree of about 110 KB, 50 KB or more once compressed.
    const nodes: TreeNode[] = Array.from({ length: 600 }, (_, i) => ({
      name: `file-${String(i).padStart(4, '0')}`,
      type: 'file',
      mode: 0o644,
      mtime: `${i}`,
      size: i,
      content: [
        pseudoRandomBytes(32, 2 * i).toString('hex'),
        pseudoRandomBytes(32, 2 * i + 1).toString('hex'),
      ],
    }));
    const id = await session.saveTree(nodes);
    await session.flush();
    await session.abort();
    const where = (await repo.index()).get(Buffer.from(id, 'hex'));
    assert.ok(where && where.rawLength > 64 * 1024, `tree of ${where?.rawLength} bytes`);
    assert.deepEqual(
      (await (await openRepository(store, password)).readTree(id)).map((n) => [n.name, n.content]),
      nodes.map((n) => [n.name, n.content]),
    );
    await flipStoredByte(dir.path, where);
    await assert.rejects((await openRepository(store, password)).readTree(id), {
      name: 'IntegrityError',
    });
  });

  it('keeps the trees it reads for later reads, unless told not to', async () => {
    const repo = await initRepository(store, password, fast);
    const session = await startSession(repo);
    const one = await session.saveTree([{ name: 'a', type: 'file', mode: 0o644, mtime: '1' }]);
    const two = await session.saveTree([{ name: 'b', type: 'file', mode: 0o644, mtime: '2' }]);
    await session.flush();
    await session.abort();
    const opened = await openRepository(store, password);
    const kept = await opened.readTree(one);
    assert.equal(await opened.readTree(one), kept);
    const passing = await opened.readTree(two, undefined, { cache: false });
    assert.deepEqual(passing, [{ name: 'b', type: 'file', mode: 0o644, mtime: '2' }]);
    assert.notEqual(await opened.readTree(two), passing, 'read again, not kept');
  });

  it('refuses to hand out bytes of a damaged blob and names the artifact', async () => {
    const repo = await initRepository(store, password, fast);
    const artifacts = artifactRepository(repo);
    const session = await artifacts.startBackup();
    await session.addArtifact('a.bak', Readable.from([pseudoRandomBytes(2 * 1024 * 1024, 9)]));
    const record = await session.commit({
      source: 'db',
      kind: 'test',
      type: 'full',
      startedAt: new Date(),
    });
    const dataDir = join(dir.path, 'data');
    const [sub] = await readdir(dataDir);
    for (const name of await readdir(join(dataDir, sub ?? ''))) {
      const file = join(dataDir, sub ?? '', name);
      const bytes = await readFile(file);
      bytes[100] = (bytes[100] ?? 0) ^ 0xff;
      await writeFile(file, bytes);
    }
    const fresh = artifactRepository(await openRepository(store, password));
    await assert.rejects(buffer(fresh.openArtifact(record.id, 'a.bak')), {
      name: 'IntegrityError',
    });
  });
});

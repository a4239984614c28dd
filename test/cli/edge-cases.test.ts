import assert from 'node:assert/strict';
import { appendFile, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { StoreError } from '../../src/errors.ts';
import { checkRepository } from '../../src/repository/check.ts';
import { artifactRepository, initRepository, openRepository } from '../../src/repository/index.ts';
import { openIndex } from '../../src/repository/index-file.ts';
import { pruneRepository, forgetBackups } from '../../src/repository/prune.ts';
import { createLocalStore } from '../../src/stores/local.ts';
import type { Store } from '../../src/stores/types.ts';
import { hbr, summaryOf } from '../helpers/cli.ts';
import { cliRepository } from '../helpers/cli-repository.ts';
import { FORTY_MINUTES, putForeignLock, writtenAgo } from '../helpers/foreign-lock.ts';
import { pseudoRandomBytes } from '../helpers/temp.ts';

describe('hbr edge cases', () => {
  const cli = cliRepository({ init: ['--pack-size', '1'] });
  const { run } = cli;

  it('creates a repository with the pack size and compression of the config, unless flags say otherwise', async () => {
    await writeFile(
      join(cli.path, 'sized.yaml'),
      'repository:\n  path: sized\n  packSize: 4194304\n  compression: "off"\n',
    );
    const fromConfig = await hbr(['--config', 'sized.yaml', 'init'], {
      env: { HBR_PASSWORD: 'pw' },
      cwd: cli.path,
    });
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    const credential = { kind: 'password', password: 'pw' } as const;
    const sized = await openRepository(
      createLocalStore({ path: join(cli.path, 'sized') }),
      credential,
    );
    assert.equal(sized.config.packSize, 4 * 1024 * 1024);
    assert.equal(sized.config.compressionLevel, 0);

    await writeFile(
      join(cli.path, 'flagged.yaml'),
      'repository:\n  path: flagged\n  packSize: 4194304\n  compression: "off"\n',
    );
    const fromFlags = await hbr(
      ['--config', 'flagged.yaml', 'init', '--pack-size', '2', '--compression', '3'],
      { env: { HBR_PASSWORD: 'pw' }, cwd: cli.path },
    );
    assert.equal(fromFlags.code, 0, fromFlags.stderr);
    const flagged = await openRepository(
      createLocalStore({ path: join(cli.path, 'flagged') }),
      credential,
    );
    assert.equal(flagged.config.packSize, 2 * 1024 * 1024);
    assert.equal(flagged.config.compressionLevel, 3);
  });

  it('marks and reports a file that changes while it is read, and exits 3', async () => {
    await mkdir(join(cli.path, 'live'));
    const file = join(cli.path, 'live', 'growing.log');
    await writeFile(file, pseudoRandomBytes(48 * 1024 * 1024, 5));
    // Another writer appends while the backup reads (the backup's reads yield to the event loop).
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await appendFile(file, 'more\n');
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const result = await run('backup', 'live', '--json');
    writing = false;
    await writer;
    assert.equal(result.code, 3, result.stderr);
    const summary = summaryOf(result);
    assert.deepEqual(summary.changedWhileReading, [file]);
    assert.match(result.stderr, /growing\.log: changed while it was being read/);
    // Kept with the backup: told whenever it is listed or restored.
    const listed = await run('ls', String(summary.shortId), file);
    assert.match(listed.stderr, /was incomplete: 1 files changed while they were read/);
    // And the file itself is marked, in the listing and in its JSON.
    assert.match(listed.stdout, /growing\.log {2}\(changed while read: may be torn\)$/m);
    const json = await run('ls', String(summary.shortId), file, '--json');
    const nodes = JSON.parse(json.stdout) as { path: string; changedWhileReading?: boolean }[];
    assert.deepEqual(
      nodes.map((n) => [n.path, n.changedWhileReading]),
      [[file, true]],
    );
    // The next backup reads it again instead of trusting the torn copy.
    const again = summaryOf(await run('backup', 'live', '--json'));
    assert.equal(again.changedFiles, 1);
  });

  it('reads only the requested share of packs with check --read-data --subset', async () => {
    await mkdir(join(cli.path, 'many'));
    for (let i = 0; i < 10; i++)
      await writeFile(
        join(cli.path, 'many', `f${i}`),
        pseudoRandomBytes(1024 * 1024 + 1000, 60 + i),
      );
    assert.equal((await run('backup', 'many')).code, 0);
    const all = summaryOf(await run('check', '--read-data', '--json')) as {
      stats: { packs: number; packsRead: number };
    };
    assert.equal(all.stats.packsRead, all.stats.packs);
    const part = summaryOf(await run('check', '--read-data', '--subset', '20%', '--json')) as {
      stats: { packs: number; packsRead: number };
    };
    assert.equal(part.stats.packsRead, Math.ceil(all.stats.packs * 0.2));
    assert.equal((await run('check', '--subset', '20%')).code, 2, '--subset needs --read-data');
    assert.equal((await run('check', '--read-data', '--subset', '0%')).code, 2);
  });

  it('repacks partly-used packs, freeing the dead part and keeping the live blobs readable', async () => {
    const repo = await cli.open();
    const artifacts = artifactRepository(repo);
    // One backup stores both artifacts in one pack; a second keeps only one (deduplicated).
    // Forgetting the first leaves that pack half dead.
    const keep = pseudoRandomBytes(300_000, 90);
    const drop = pseudoRandomBytes(300_000, 91);
    const first = await artifacts.startBackup();
    await first.addArtifact('keep.bin', Readable.from([keep]));
    await first.addArtifact('drop.bin', Readable.from([drop]));
    const both = await first.commit({
      source: 'pair',
      kind: 'test',
      type: 'full',
      startedAt: new Date(),
    });
    const second = await artifacts.startBackup();
    await second.addArtifact('keep.bin', Readable.from([keep]));
    const kept = await second.commit({
      source: 'pair',
      kind: 'test',
      type: 'full',
      startedAt: new Date(),
    });
    await forgetBackups(repo, [both.id]);
    const report = await pruneRepository(repo, { maxUnusedPercent: 0 });
    assert.ok(report.packsRepacked >= 1 && report.packsWritten >= 1, JSON.stringify(report));
    assert.ok(report.bytesFreed >= drop.length, JSON.stringify(report));
    assert.equal(report.unusedBytesAfter, 0);
    assert.ok((await buffer(artifacts.openArtifact(kept.id, 'keep.bin'))).equals(keep));
    assert.equal((await run('check', '--read-data')).code, 0);
  });

  it('lists and restores the other backups beside a damaged manifest; prune refuses to guess', async () => {
    const env2 = { HBR_REPOSITORY: join(cli.path, 'repo-bad-manifest'), HBR_PASSWORD: 'pw' };
    const run2 = (...args: string[]) => hbr(args, { env: env2, cwd: cli.path });
    assert.equal((await run2('init')).code, 0);
    await mkdir(join(cli.path, 'm'), { recursive: true });
    const ids: string[] = [];
    for (const text of ['one', 'two']) {
      await writeFile(join(cli.path, 'm', 'f.txt'), text);
      ids.push(String(summaryOf(await run2('backup', 'm', '--json')).backupId));
    }
    // The first backup's manifest damaged, and a stray object beside the manifests.
    const manifests = join(cli.path, 'repo-bad-manifest', 'snapshots');
    const first = join(manifests, ids[0] ?? '');
    const bytes = await readFile(first);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    await writeFile(first, bytes);
    await writeFile(join(manifests, 'README'), 'hi');
    const listed = await run2('backups', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { id: string }[]).map((b) => b.id),
      [ids[1]],
    );
    assert.equal((await run2('restore', 'latest', '--target', 'beside-damage')).code, 0);
    assert.equal(
      await readFile(join(cli.path, 'beside-damage', cli.path, 'm', 'f.txt'), 'utf8'),
      'two',
    );
    const prune = await run2('prune');
    assert.notEqual(prune.code, 0);
    assert.match(prune.stderr, /does not match its name/);
  });

  it('a prune after an index object was lost keeps the packs backups still use, and indexes them', async () => {
    const path = join(cli.path, 'repo-lost-index');
    const store = createLocalStore({ path });
    const password = { kind: 'password', password: 'pw' } as const;
    await initRepository(store, password, {
      scryptParams: { N: 1024, r: 8, p: 1 },
      packSize: 1024 * 1024,
    });
    // 64 MiB in 1 MiB packs: the first index object (every 16 packs) lists data packs only. A
    // pack holds a chunk or two (1 MiB on average, cut by the repository's own chunker key): 20
    // MiB made fewer than 16 packs under some keys, and then one index object listed them all.
    const data = pseudoRandomBytes(64 * 1024 * 1024, 61);
    const artifacts = artifactRepository(await openRepository(store, password));
    const session = await artifacts.startBackup();
    await session.addArtifact('big.bin', Readable.from([data]));
    const backup = await session.commit({
      source: 'lost',
      kind: 'test',
      type: 'full',
      startedAt: new Date(),
    });
    const repo = await openRepository(store, password);
    const treePacks = new Set(
      [...(await repo.index()).packs()]
        .filter(([, entries]) => entries.some((e) => e.type === 'tree'))
        .map(([packId]) => packId),
    );
    const dataOnly: string[] = [];
    for (const id of await repo.indexIds()) {
      const packs = openIndex(repo.keys, id, await store.get(`index/${id}`));
      if (packs.every((p) => !treePacks.has(p.packId))) dataOnly.push(id);
    }
    assert.ok(dataOnly.length > 0, 'an index object of data packs only');
    for (const id of dataOnly) await store.delete(`index/${id}`);

    const report = await pruneRepository(await openRepository(store, password));
    assert.equal(report.unindexedPacksDeleted, 0);
    assert.ok(report.unindexedPacksKept > 0);
    const after = await openRepository(store, password);
    assert.ok((await checkRepository(after)).ok);
    const back = await buffer(artifactRepository(after).openArtifact(backup.id, 'big.bin'));
    assert.ok(back.equals(data));
  });

  it('a backup after an interrupted one does not reuse a damaged blob of its unindexed pack', async () => {
    const env3 = { HBR_REPOSITORY: join(cli.path, 'repo-rotten'), HBR_PASSWORD: 'pw' };
    const run3 = (...args: string[]) => hbr(args, { env: env3, cwd: cli.path });
    await mkdir(join(cli.path, 'rotten'));
    const data = pseudoRandomBytes(300_000, 71);
    await writeFile(join(cli.path, 'rotten', 'f.bin'), data);
    assert.equal((await run3('init')).code, 0);
    assert.equal((await run3('backup', 'rotten')).code, 0);
    // As if that backup had died before its index and manifest: its packs are unindexed, its
    // lock left behind, stale (what the next backup's start looks for them by). Then a byte of
    // the data pack rots; its header still reads.
    const repoDir = env3.HBR_REPOSITORY;
    for (const folder of ['index', 'snapshots'])
      for (const name of await readdir(join(repoDir, folder)))
        await rm(join(repoDir, folder, name));
    const { store, keys } = await openRepository(createLocalStore({ path: repoDir }), {
      kind: 'password',
      password: 'pw',
    });
    await putForeignLock(store, keys, 'locks/died', Date.now());
    await writtenAgo(repoDir, 'locks/died', FORTY_MINUTES);
    const packs: { path: string; size: number }[] = [];
    for (const sub of await readdir(join(repoDir, 'data')))
      for (const name of await readdir(join(repoDir, 'data', sub))) {
        const path = join(repoDir, 'data', sub, name);
        packs.push({ path, size: (await stat(path)).size });
      }
    const largest = packs.sort((a, b) => b.size - a.size)[0]?.path ?? '';
    const file = await open(largest, 'r+');
    await file.write(Buffer.from([0xff]), 0, 1, 1000);
    await file.close();

    const again = await run3('backup', 'rotten');
    assert.equal(again.code, 0, again.stderr);
    const restored = await run3('restore', 'latest', '--target', 'from-rotten');
    assert.equal(restored.code, 0, restored.stderr);
    assert.ok(
      (await readFile(join(cli.path, 'from-rotten', cli.path, 'rotten', 'f.bin'))).equals(data),
    );
  });

  it('a backup that cannot list the backups fails, its lock (taken meanwhile) removed', async () => {
    const env4 = { HBR_REPOSITORY: join(cli.path, 'repo-unlisted'), HBR_PASSWORD: 'pw' };
    const run4 = (...args: string[]) => hbr(args, { env: env4, cwd: cli.path });
    await mkdir(join(cli.path, 'unlisted'));
    await writeFile(join(cli.path, 'unlisted', 'f.txt'), 'x');
    assert.equal((await run4('init')).code, 0);
    // `snapshots` is a file, not a folder: listing it fails (ENOTDIR), for root too.
    await rm(join(env4.HBR_REPOSITORY, 'snapshots'), { recursive: true, force: true });
    await writeFile(join(env4.HBR_REPOSITORY, 'snapshots'), '');
    const failed = await run4('backup', 'unlisted');
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /snapshots/);
    // Not a session left starting behind the failure, to write its lock later and keep it.
    await sleep(500);
    assert.deepEqual(await readdir(join(env4.HBR_REPOSITORY, 'locks')), []);
  });

  it('a prune that fails while repacking leaves no temporary file and an intact repository', async () => {
    const path = join(cli.path, 'repo-failing-prune');
    const local = createLocalStore({ path });
    await initRepository(
      local,
      { kind: 'password', password: 'pw' },
      {
        scryptParams: { N: 1024, r: 8, p: 1 },
      },
    );
    // Reads of whole packs (repacking; trees are read by range) fail from the second on.
    let packReads = 0;
    const failing: Store = {
      ...local,
      get: async (key, opts) => {
        if (key.startsWith('data/') && !opts?.range && ++packReads >= 2) {
          throw new StoreError(`[store:test] get ${key}: refused`, { permanent: true });
        }
        return local.get(key, opts);
      },
    };
    const repo = await openRepository(failing, { kind: 'password', password: 'pw' });
    const artifacts = artifactRepository(repo);
    const meta = { source: 'pair', kind: 'test', type: 'full', startedAt: new Date() } as const;
    // Two packs left half dead: each backup stores a kept and a dropped artifact.
    const kept: Buffer[] = [];
    const backups: string[] = [];
    for (const seed of [92, 94]) {
      kept.push(pseudoRandomBytes(300_000, seed));
      const session = await artifacts.startBackup();
      await session.addArtifact('keep.bin', Readable.from([kept.at(-1)!]));
      await session.addArtifact('drop.bin', Readable.from([pseudoRandomBytes(300_000, seed + 1)]));
      backups.push((await session.commit(meta)).id);
    }
    const last = await artifacts.startBackup();
    await last.addArtifact('a.bin', Readable.from([kept[0]!]));
    await last.addArtifact('b.bin', Readable.from([kept[1]!]));
    const keeping = await last.commit(meta);
    await forgetBackups(repo, backups);

    await assert.rejects(pruneRepository(repo, { maxUnusedPercent: 0 }), /refused/);
    assert.equal(packReads, 2, 'the first pack was repacked, the second refused');
    assert.deepEqual(
      (await readdir(path)).filter((n) => n.startsWith('.tmp-')),
      [],
    );
    packReads = -1_000_000;
    assert.ok((await buffer(artifacts.openArtifact(keeping.id, 'b.bin'))).equals(kept[1]!));
    assert.ok((await checkRepository(repo, { readData: true })).ok);
  });
});

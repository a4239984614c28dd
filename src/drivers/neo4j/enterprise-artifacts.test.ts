import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactRepository, initRepository, openRepository } from '../../repository/index.ts';
import type { ArtifactRepository } from '../../repository/types.ts';
import { createLocalStore } from '../../stores/local.ts';
import {
  listBackupFiles,
  materializeArtifacts,
  newArtifact,
  storeArtifacts,
} from './enterprise-artifacts.ts';

const password = { kind: 'password', password: 'enterprise artifacts' } as const;

describe('enterprise artifacts between a folder and the repository', () => {
  let dir: string;
  let repo: ArtifactRepository;
  const full = randomBytes(3 << 20);
  const diff = randomBytes(40 << 10);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-ent-art-'));
    const store = createLocalStore({ path: join(dir, 'repo') });
    await initRepository(store, password, { scryptParams: { N: 1024, r: 8, p: 1 } });
    repo = artifactRepository(await openRepository(store, password));
    await mkdir(join(dir, 'out'));
    await writeFile(join(dir, 'out', 'neo4j-2026-11-22T01-00-00.backup'), full);
    await writeFile(join(dir, 'out', 'neo4j-2026-11-22T02-00-00.backup'), diff);
    await writeFile(join(dir, 'out', 'backup.log'), 'not an artifact');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('stores produced files and materialises them byte for byte under their own names', async () => {
    const names = await listBackupFiles(join(dir, 'out'));
    assert.deepEqual(names, [
      'neo4j-2026-11-22T01-00-00.backup',
      'neo4j-2026-11-22T02-00-00.backup',
    ]);
    const session = await repo.startBackup();
    const stored = await storeArtifacts(session, join(dir, 'out'), names);
    assert.deepEqual(
      stored.map((s) => [s.path, s.size]),
      [
        [names[0], full.length],
        [names[1], diff.length],
      ],
    );
    const record = await session.commit({
      source: 'graph',
      kind: 'neo4j',
      type: 'diff',
      startedAt: new Date(),
    });
    await mkdir(join(dir, 'back'));
    const files = await materializeArtifacts(repo, record.id, names, join(dir, 'back'));
    assert.deepEqual(
      files,
      names.map((n) => join(dir, 'back', n)),
    );
    assert.deepEqual(await readFile(files[0]!), full);
    assert.deepEqual(await readFile(files[1]!), diff);

    // Storing the same full again (as every differential's backup does) adds almost nothing.
    const again = await repo.startBackup();
    await storeArtifacts(again, join(dir, 'out'), [names[0]!]);
    const second = await again.commit({
      source: 'graph',
      kind: 'neo4j',
      type: 'diff',
      startedAt: new Date(),
    });
    assert.ok(
      second.summary.addedBytes < full.length / 100,
      `re-storing a 3 MiB artifact added ${second.summary.addedBytes} bytes`,
    );

    // A file already in the target folder is never overwritten.
    await assert.rejects(
      materializeArtifacts(repo, record.id, [names[1]!], join(dir, 'back')),
      /already exists; refusing to overwrite/,
    );
  });

  test('an artifact name with a path separator is refused before anything is written', async () => {
    const list = await repo.listBackups();
    await assert.rejects(
      materializeArtifacts(repo, list[0]!.id, ['../escape.backup'], join(dir, 'back')),
      /not a plain file name/,
    );
    assert.ok(!(await readdir(dir)).includes('escape.backup'));
  });

  test('exactly one new artifact per run, else an error naming what was found', () => {
    assert.equal(newArtifact(['a.backup'], ['a.backup', 'b.backup'], 'neo4j'), 'b.backup');
    assert.throws(
      () => newArtifact(['a.backup'], ['a.backup'], 'neo4j'),
      /produced no new artifact/,
    );
    assert.throws(
      () => newArtifact([], ['a.backup', 'b.backup'], 'neo4j'),
      /produced 2 new artifact\(s\) \(a\.backup, b\.backup\)/,
    );
  });
});

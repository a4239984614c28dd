/**
 * A backup or restore cancelled (Ctrl-C) while the server is down for neo4j-admin starts the
 * server again: the start must not share the cancelled signal (real server).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Neo4jAdmin } from '../../src/drivers/neo4j/admin.ts';
import { backupNeo4j } from '../../src/drivers/neo4j/backup.ts';
import { restoreNeo4j } from '../../src/drivers/neo4j/restore.ts';
import type { ArtifactRepository } from '../../src/repository/types.ts';
import { startNeo4j, wipeGraph, type Neo4jTestInstance, newArtifactRepository } from './helpers.ts';

/** `admin`, aborting `controller` as soon as a `database <command>` has been spawned. */
function abortingAdmin(
  admin: Neo4jAdmin,
  command: 'dump' | 'load',
  controller: AbortController,
): Neo4jAdmin {
  const hit = (args: readonly string[]): boolean => args[0] === 'database' && args[1] === command;
  const abort = (): void => controller.abort(new Error('interrupted'));
  return {
    ...admin,
    run(args, options) {
      const running = admin.run(args, options);
      if (hit(args)) abort();
      return running;
    },
    spawn(args, options) {
      const running = admin.spawn(args, options);
      if (hit(args)) abort();
      return running;
    },
  };
}

describe('neo4j backup and restore cancelled while the server is down (real server)', () => {
  let neo: Neo4jTestInstance;
  let dir: string;
  let repo: ArtifactRepository;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-interrupt-'));
    repo = await newArtifactRepository(dir);
    neo = await startNeo4j('test-interrupt');
    await wipeGraph(neo.driver);
    await neo.driver.executeQuery('UNWIND range(1, 1000) AS i CREATE (:Atom {atomId: i})');
  });
  beforeEach(async () => {
    await neo.server.start(); // a test that failed may have left it stopped
    await neo.reconnect();
  });
  after(async () => {
    await neo?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const assertAnswers = async (): Promise<void> => {
    assert.ok((await neo.server.pid()) !== undefined, 'the server was left stopped');
    await neo.reconnect();
    const { records } = await neo.driver.executeQuery('MATCH (a:Atom) RETURN count(a) AS c');
    assert.equal(Number(records[0]?.get('c')), 1000);
  };

  for (const spooled of [false, true]) {
    test(`a ${spooled ? 'spooled' : 'streamed'} backup cancelled while neo4j-admin dumps starts the server again`, async () => {
      const controller = new AbortController();
      const spoolDir = join(dir, 'spool');
      await mkdir(spoolDir, { recursive: true });
      await assert.rejects(
        backupNeo4j({
          repo,
          source: 'graph',
          mode: 'dump',
          server: neo.server,
          admin: abortingAdmin(neo.admin, 'dump', controller),
          bolt: neo.bolt,
          signal: controller.signal,
          ...(spooled ? { spoolDir } : {}),
        }),
      );
      assert.ok(controller.signal.aborted);
      await assertAnswers();
    });
  }

  test('a restore cancelled while neo4j-admin loads starts the server again', async () => {
    const backup = await backupNeo4j({
      repo,
      source: 'graph',
      mode: 'dump',
      server: neo.server,
      admin: neo.admin,
      bolt: neo.bolt,
    });
    const controller = new AbortController();
    await assert.rejects(
      restoreNeo4j({
        repo,
        backupId: backup.id,
        server: neo.server,
        admin: abortingAdmin(neo.admin, 'load', controller),
        bolt: neo.bolt,
        signal: controller.signal,
      }),
    );
    assert.ok(controller.signal.aborted);
    await assertAnswers();
  });
});

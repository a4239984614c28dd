/**
 * A real server killed with SIGKILL leaves a store that needs recovery: it is detected and the
 * dump refused (by neo4j-admin and by the backup's dump paths, with a message naming the remedy),
 * and a start plus clean stop makes it dumpable again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SourceError } from '../../src/errors.ts';
import { dumpDatabase } from '../../src/drivers/neo4j/dump-stream.ts';
import { offlineDump } from '../../src/drivers/neo4j/offline-dump.ts';
import { assertStoreCleanlyStopped } from '../../src/drivers/neo4j/store-state.ts';
import { startNeo4j, type Neo4jTestInstance } from './helpers.ts';

describe('neo4j store not shut down cleanly (real server)', () => {
  let neo: Neo4jTestInstance;

  before(async () => {
    neo = await startNeo4j('test-unclean');
  });
  after(async () => {
    await neo?.close();
  });

  test('after a SIGKILL the store is reported as needing recovery and the dump is refused', async () => {
    await neo.driver.executeQuery('UNWIND range(1, 1000) AS i CREATE (:Atom {atomId: i})');
    const pid = await neo.server.pid();
    assert.ok(pid !== undefined);
    // Deliberately unclean, to produce the state the backup must refuse.
    process.kill(pid, 'SIGKILL');
    while ((await neo.server.pid()) !== undefined) await sleep(100);

    const info = await neo.admin.info('neo4j');
    assert.equal(info.recoveryRequired, true);
    assert.throws(() => assertStoreCleanlyStopped(info), /not shut down cleanly/);
    const chunks: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of dumpDatabase(neo.admin, 'neo4j')) chunks.push(chunk);
      })(),
      (error: unknown) => error instanceof SourceError && /database dump/.test(error.message),
    );

    // The backup's own dump path refuses it with the clear message, and starts the server again.
    const session = {
      addArtifact: () => Promise.reject(new Error('nothing may be stored from an unclean store')),
      commit: () => Promise.reject(new Error('not reached')),
      abort: () => Promise.resolve(),
    };
    await assert.rejects(
      offlineDump({ session, server: neo.server, admin: neo.admin, databases: ['neo4j'] }),
      (error: unknown) =>
        error instanceof SourceError && /not shut down cleanly/.test(error.message),
    );
    assert.ok((await neo.server.pid()) !== undefined, 'the server runs again after the refusal');
    await neo.reconnect();

    // The same through the named pipes of one `dump '*'` (the backup covers every database).
    await neo.driver.executeQuery('CREATE (:Atom {atomId: 0})');
    const again = await neo.server.pid();
    assert.ok(again !== undefined);
    process.kill(again, 'SIGKILL');
    while ((await neo.server.pid()) !== undefined) await sleep(100);
    await assert.rejects(
      offlineDump({
        session,
        server: neo.server,
        admin: neo.admin,
        databases: ['neo4j', 'system'],
        storeDatabases: ['neo4j', 'system'],
      }),
      (error: unknown) =>
        error instanceof SourceError && /not shut down cleanly/.test(error.message),
    );
    assert.ok((await neo.server.pid()) !== undefined, 'the server runs again after the refusal');
    await neo.reconnect();

    // The remedy the error message names: start (recovers), stop cleanly.
    await neo.server.start();
    await neo.reconnect();
    await neo.server.stop();
    const recovered = await neo.admin.info('neo4j');
    assert.doesNotThrow(() => assertStoreCleanlyStopped(recovered));
    await neo.server.start();
  });
});

/**
 * Failure cases that need no running Neo4j: a missing neo4j-admin, a server that ignores
 * SIGTERM, mismatched versions, a store that was not shut down cleanly.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { SourceError } from '../../src/errors.ts';
import { createNeo4jAdmin } from '../../src/drivers/neo4j/admin.ts';
import { dumpDatabase } from '../../src/drivers/neo4j/dump-stream.ts';
import { offlineDump } from '../../src/drivers/neo4j/offline-dump.ts';
import { createNeo4jServer, type Neo4jServer } from '../../src/drivers/neo4j/server.ts';
import {
  assertStoreCleanlyStopped,
  assertVersionsMatch,
  parseStoreInfo,
} from '../../src/drivers/neo4j/store-state.ts';
import { newArtifactRepository } from './helpers.ts';

describe('neo4j failure cases', () => {
  let dir: string;
  let child: ChildProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-fail-'));
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('a missing neo4j-admin fails clearly, naming the path', async () => {
    const admin = createNeo4jAdmin({ home: dir });
    await assert.rejects(
      admin.version(),
      (error: unknown) =>
        error instanceof SourceError &&
        error.message.includes(join(dir, 'bin', 'neo4j-admin')) &&
        /not found/.test(error.message),
    );
    const chunks: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of dumpDatabase(admin, 'neo4j')) chunks.push(chunk);
      })(),
      (error: unknown) => error instanceof SourceError && /not found/.test(error.message),
    );
    assert.equal(chunks.length, 0);
  });

  test("a dump that neo4j-admin fails is reported with neo4j-admin's own error, not as a short stream", async () => {
    const script = join(dir, 'neo4j-admin');
    await writeFile(
      script,
      '#!/bin/sh\necho "Database neo4j is in use by another process" >&2\nexit 3\n',
      { mode: 0o755 },
    );
    const admin = createNeo4jAdmin({ home: dir, command: script });
    const repo = await newArtifactRepository(dir);
    const session = await repo.startBackup();
    // The server's stop and start are not the subject here.
    const server = {
      stop: () => Promise.resolve(),
      start: () => Promise.resolve(),
      holdStart: () => ({ cancel: () => undefined }),
    } as unknown as Neo4jServer;
    try {
      await assert.rejects(
        offlineDump({
          session,
          server,
          admin,
          databases: ['neo4j', 'system'],
          storeDatabases: ['neo4j', 'system'],
          nice: false,
        }),
        (error: unknown) =>
          error instanceof SourceError &&
          /database dump \*: exit 3: Database neo4j is in use by another process/.test(
            error.message,
          ),
      );
    } finally {
      await session.abort();
    }
  });

  test('a server that ignores SIGTERM is reported after the timeout and left running (never SIGKILLed)', async () => {
    // Named like a server ($0): a process whose command line does not say neo4j is not taken
    // for one (a pid file may be stale, its pid reused).
    child = spawn(
      'sh',
      ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.1; done', 'fake-neo4j'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    // Its SIGTERM ignored before the stop sends one: on a loaded machine the shell had not set
    // the trap yet, and died of the signal.
    await once(child.stdout as NodeJS.ReadableStream, 'data');
    await mkdir(join(dir, 'run'));
    await writeFile(join(dir, 'run', 'neo4j.pid'), `${child.pid}\n`);
    const server = createNeo4jServer({
      home: dir,
      bolt: { url: 'bolt://127.0.0.1:1', user: 'neo4j', password: 'x' },
      stopTimeoutMs: 1500,
    });
    assert.equal(await server.pid(), child.pid);
    await assert.rejects(
      server.stop(),
      (error: unknown) => error instanceof SourceError && /did not stop within/.test(error.message),
    );
    assert.equal(child.exitCode, null);
    assert.equal(child.signalCode, null);
    assert.equal(await server.pid(), child.pid, 'still running');
  });

  test('a server that stops on SIGTERM is stopped and waited for', async () => {
    child = spawn('sh', ['-c', 'while :; do sleep 0.1; done', 'fake-neo4j'], { stdio: 'ignore' });
    await mkdir(join(dir, 'run'));
    await writeFile(join(dir, 'run', 'neo4j.pid'), `${child.pid}\n`);
    const server = createNeo4jServer({
      home: dir,
      bolt: { url: 'bolt://127.0.0.1:1', user: 'n', password: 'x' },
    });
    const exited = once(child, 'exit');
    await server.stop();
    const [, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    assert.equal(signal, 'SIGTERM');
    assert.equal(await server.pid(), undefined);
  });

  test('neo4j-admin and server versions must match', () => {
    assert.doesNotThrow(() => assertVersionsMatch('5.26.30', '5.26.30'));
    assert.throws(
      () => assertVersionsMatch('5.26.17', '5.26.30'),
      (error: unknown) =>
        error instanceof SourceError && /5\.26\.17.*5\.26\.30/.test(error.message),
    );
  });

  test('a store that needs recovery or is in use is refused with what to do', () => {
    const json = (inUse: boolean, recovery: boolean) =>
      `{"databaseName":"neo4j","inUse":"${inUse}","storeFormat":"record-aligned-1.1","storeFormatIntroduced":"5.0.0","storeFormatSuperseded":null,"lastCommittedTransaction":"89","recoveryRequired":"${recovery}"}`;
    const clean = parseStoreInfo(`some log line\n${json(false, false)}\n`, 'neo4j');
    assert.deepEqual(clean, {
      database: 'neo4j',
      inUse: false,
      storeFormat: 'record-aligned-1.1',
      lastCommittedTransaction: '89',
      recoveryRequired: false,
    });
    assert.doesNotThrow(() => assertStoreCleanlyStopped(clean));
    assert.throws(
      () => assertStoreCleanlyStopped(parseStoreInfo(json(false, true), 'neo4j')),
      /not shut down cleanly.*start Neo4j once/,
    );
    assert.throws(
      () => assertStoreCleanlyStopped(parseStoreInfo(json(true, false), 'neo4j')),
      /in use/,
    );
    assert.throws(() => parseStoreInfo('no json here', 'neo4j'), SourceError);
  });
});

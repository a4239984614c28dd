import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { SourceError } from '../../errors.ts';
import { createNeo4jAdmin } from './admin.ts';

describe('neo4j-admin version', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'hbr-neo4j-admin-'));
    await mkdir(join(home, 'bin'));
    await mkdir(join(home, 'conf'));
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  /** A stand-in neo4j-admin whose `--version` prints `version`. */
  const standIn = async (version: string) => {
    const file = join(home, 'bin', 'neo4j-admin');
    await writeFile(file, `#!/bin/sh\necho "neo4j-admin ${version}"\n`);
    await chmod(file, 0o755);
  };
  const jars = async (dir: string, names: string[]) => {
    await mkdir(join(home, dir), { recursive: true });
    for (const n of names) await writeFile(join(home, dir, n), '');
  };

  test('comes from the kernel jar in <home>/lib without running the tool', async () => {
    await standIn('9.9.9');
    await jars('lib', [
      'neo4j-5.26.30.jar',
      'neo4j-kernel-5.26.30.jar',
      'neo4j-kernel-api-5.26.30.jar',
    ]);
    assert.equal(await createNeo4jAdmin({ home }).version(), '5.26.30');
  });

  test('follows server.directories.lib of neo4j.conf (relative to the home)', async () => {
    await standIn('9.9.9');
    await jars('jars', ['neo4j-kernel-5.26.17.jar']);
    await jars('lib', ['neo4j-kernel-5.26.30.jar']);
    await writeFile(join(home, 'conf', 'neo4j.conf'), '# x\nserver.directories.lib=jars\n');
    assert.equal(await createNeo4jAdmin({ home }).version(), '5.26.17');
  });

  test('asks the tool when the lib folder is missing, ambiguous, or the command is configured', async () => {
    await standIn('5.26.1');
    assert.equal(await createNeo4jAdmin({ home }).version(), '5.26.1');
    await jars('lib', ['neo4j-kernel-5.26.30.jar', 'neo4j-kernel-5.26.17.jar']);
    assert.equal(await createNeo4jAdmin({ home }).version(), '5.26.1');
    await rm(join(home, 'lib', 'neo4j-kernel-5.26.17.jar'));
    const command = join(home, 'bin', 'neo4j-admin');
    assert.equal(await createNeo4jAdmin({ home, command }).version(), '5.26.1');
  });

  test('a missing neo4j-admin is refused even when the jars name a version', async () => {
    await jars('lib', ['neo4j-kernel-5.26.30.jar']);
    await assert.rejects(
      createNeo4jAdmin({ home }).version(),
      (error: unknown) =>
        error instanceof SourceError &&
        error.message.includes(join(home, 'bin', 'neo4j-admin')) &&
        /not found/.test(error.message),
    );
  });
});

describe("the store's databases (what dump '*' dumps)", () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'hbr-neo4j-admin-'));
    await mkdir(join(home, 'conf'));
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  const store = async (data: string, names: string[]) => {
    for (const n of names) await mkdir(join(home, data, 'databases', n), { recursive: true });
    await writeFile(join(home, data, 'databases', 'store_lock'), '');
  };
  const listed = async () => (await createNeo4jAdmin({ home }).storeDatabases())?.sort();

  test('are the folders of <home>/data/databases, without its files', async () => {
    await store('data', ['system', 'neo4j']);
    assert.deepEqual(await listed(), ['neo4j', 'system']);
  });

  test('follow server.directories.data, with neo4j-admin.conf over neo4j.conf', async () => {
    await store('data', ['neo4j', 'system']);
    await store('graph', ['neo4j', 'system', 'other']);
    await store('admin-data', ['system']);
    await writeFile(join(home, 'conf', 'neo4j.conf'), 'server.directories.data=graph\n');
    assert.deepEqual(await listed(), ['neo4j', 'other', 'system']);
    await writeFile(
      join(home, 'conf', 'neo4j-admin.conf'),
      `server.directories.data=${join(home, 'admin-data')}\n`,
    );
    assert.deepEqual(await listed(), ['system']);
  });

  test('are unknown when the folder cannot be read', async () => {
    assert.equal(await listed(), undefined);
  });
});

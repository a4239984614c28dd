/**
 * Test helpers for the Neo4j driver: a real server per test file (its own instance of
 * scripts/services/neo4j.sh, so files that stop the server for a dump do not disturb each other)
 * and a provenance-like graph.
 * @module
 */
import { execa } from 'execa';
import type { Driver } from 'neo4j-driver';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNeo4jAdmin, type Neo4jAdmin } from '../../src/drivers/neo4j/admin.ts';
import { openBolt, toNumber, type BoltOptions } from '../../src/drivers/neo4j/bolt.ts';
import { createNeo4jServer, type Neo4jServer } from '../../src/drivers/neo4j/server.ts';
import type { Neo4jBackupMeta } from '../../src/drivers/neo4j/backup.ts';
import {
  artifactRepository,
  initRepository,
  openRepository,
  type ArtifactRepository,
} from '../../src/repository/index.ts';
import type { BackupRecord } from '../../src/repository/types.ts';
import { createLocalStore } from '../../src/stores/local.ts';
import { flipStoredByte } from '../helpers/damage.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/services/neo4j.sh', import.meta.url));

/** A running test server and the objects to drive it. */
export interface Neo4jTestInstance {
  readonly name: string;
  readonly home: string;
  readonly version: string;
  readonly bolt: BoltOptions;
  readonly admin: Neo4jAdmin;
  readonly server: Neo4jServer;
  /** A driver without stale bookmarks: call {@link reconnect} after every load. */
  readonly driver: Driver;
  /** Replaces the driver (its bookmarks point past a restored store's last transaction). */
  reconnect(): Promise<void>;
  /** Stops the server cleanly and closes the driver. */
  close(): Promise<void>;
}

/**
 * Starts (or reuses) the named instance through the project's script and returns its handles.
 * Throws when the server cannot start: tests that need Neo4j fail, they never skip.
 */
export async function startNeo4j(name: string): Promise<Neo4jTestInstance> {
  const { stdout } = await execa(SCRIPT, ['start'], {
    env: { HBR_NEO4J_INSTANCE: name },
    stderr: 'inherit',
  });
  const env = parseEnv(stdout);
  const need = (key: string): string => {
    const value = env[key];
    if (value === undefined || value === '') throw new Error(`neo4j.sh start printed no ${key}`);
    return value;
  };
  const home = need('NEO4J_HOME');
  const bolt = {
    url: need('NEO4J_BOLT_URL'),
    user: need('NEO4J_USER'),
    password: need('NEO4J_PASSWORD'),
  };
  const admin = createNeo4jAdmin({ home, command: need('NEO4J_ADMIN') });
  const server = createNeo4jServer({ home, bolt });
  let driver = openBolt(bolt);
  return {
    name,
    home,
    version: need('NEO4J_VERSION'),
    bolt,
    admin,
    server,
    get driver() {
      return driver;
    },
    async reconnect() {
      await driver.close();
      driver = openBolt(bolt);
    },
    async close() {
      await driver.close();
      await server.stop();
    },
  };
}

/** Parses `KEY=value` lines. */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

/** Deletes every node, relationship, index and constraint (lookup indexes stay). */
export async function wipeGraph(driver: Driver): Promise<void> {
  for (;;) {
    const { records } = await driver.executeQuery(
      'MATCH (n) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS c',
    );
    if (toNumber(records[0]?.get('c')) === 0) break;
  }
  const { records: cs } = await driver.executeQuery('SHOW CONSTRAINTS YIELD name');
  for (const r of cs) await driver.executeQuery(`DROP CONSTRAINT \`${String(r.get('name'))}\``);
  const { records: is } = await driver.executeQuery(
    "SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP'",
  );
  for (const r of is) await driver.executeQuery(`DROP INDEX \`${String(r.get('name'))}\``);
}

/**
 * Builds a provenance-like graph: `atoms` :Atom nodes (unique `atomId`, indexed `kind`, mixed
 * property types), :Source nodes, DERIVED_FROM chains and FROM_SOURCE links.
 */
export async function createProvenanceGraph(driver: Driver, atoms: number): Promise<void> {
  await driver.executeQuery(
    'CREATE CONSTRAINT atom_id IF NOT EXISTS FOR (a:Atom) REQUIRE a.atomId IS UNIQUE',
  );
  await driver.executeQuery('CREATE INDEX atom_kind IF NOT EXISTS FOR (a:Atom) ON (a.kind)');
  await driver.executeQuery('CALL db.awaitIndexes(60)');
  const sources = Math.max(1, Math.floor(atoms / 100));
  await driver.executeQuery(
    'UNWIND range(0, $n - 1) AS i CREATE (:Source {sourceId: i, uri: "https://example.org/src/" + i})',
    { n: sources },
  );
  const batch = 10_000;
  for (let from = 0; from < atoms; from += batch) {
    await driver.executeQuery(
      `UNWIND range($from, $to) AS i
       MATCH (s:Source {sourceId: i % $sources})
       CREATE (a:Atom {atomId: i, kind: 'k' + (i % 7), hash: 'h' + toString(i * 7919),
                       weight: i * 0.5, tags: ['t' + (i % 3), 'x'], valid: i % 2 = 0,
                       createdAt: datetime({epochSeconds: 1700000000 + i})})
       CREATE (a)-[:FROM_SOURCE {at: i}]->(s)`,
      { from, to: Math.min(atoms, from + batch) - 1, sources },
    );
  }
  await autoCommit(
    driver,
    `MATCH (a:Atom) WHERE a.atomId > 0
     CALL { WITH a MATCH (p:Atom {atomId: a.atomId - 1}) CREATE (a)-[:DERIVED_FROM {step: a.atomId}]->(p) }
     IN TRANSACTIONS OF 10000 ROWS`,
  );
}

/** Runs a query in an auto-commit transaction (needed by `CALL { … } IN TRANSACTIONS`). */
export async function autoCommit(
  driver: Driver,
  query: string,
  params: Record<string, unknown> = {},
): Promise<void> {
  const session = driver.session({ database: 'neo4j' });
  try {
    await session.run(query, params);
  } finally {
    await session.close();
  }
}

/** Properties of a few atoms, as plain JSON, for before/after comparisons. */
export async function sampleAtoms(driver: Driver, ids: readonly number[]): Promise<unknown[]> {
  const { records } = await driver.executeQuery(
    'UNWIND $ids AS id MATCH (a:Atom {atomId: id}) RETURN a.atomId AS id, a.kind AS kind, a.hash AS hash, a.weight AS w, a.tags AS tags, a.valid AS valid, toString(a.createdAt) AS at ORDER BY id',
    { ids },
  );
  return records.map((r) => ({ ...r.toObject(), id: toNumber(r.get('id')) }));
}

/** Names of the user-defined indexes and constraints, sorted. */
export async function schemaNames(
  driver: Driver,
): Promise<{ indexes: string[]; constraints: string[] }> {
  const { records: is } = await driver.executeQuery(
    "SHOW INDEXES YIELD name, type, owningConstraint WHERE type <> 'LOOKUP' RETURN name ORDER BY name",
  );
  const { records: cs } = await driver.executeQuery(
    'SHOW CONSTRAINTS YIELD name RETURN name ORDER BY name',
  );
  return {
    indexes: is.map((r) => String(r.get('name'))),
    constraints: cs.map((r) => String(r.get('name'))),
  };
}

/**
 * Flips a byte in the middle of the stored bytes of the first blob of artifact `name` of backup
 * `backupId`, in the local repository at `repoDir`: whatever reads that artifact must then fail,
 * where a byte of "the largest pack" may lie in a blob the reader never asks for.
 */
export async function damageArtifact(
  repoDir: string,
  password: string,
  backupId: string,
  name: RegExp,
): Promise<void> {
  const repo = await openRepository(createLocalStore({ path: repoDir }), {
    kind: 'password',
    password,
  });
  const backup = await repo.findBackup(backupId);
  const node = (await repo.readTree(backup.tree)).find((n) => name.test(n.name));
  const first = node?.content?.[0];
  if (!first) throw new Error(`backup ${backupId} has no artifact matching ${String(name)}`);
  const at = (await repo.index()).get(Buffer.from(first, 'hex'));
  if (!at) throw new Error(`blob ${first} is in no index`);
  await flipStoredByte(repoDir, at);
}

/** A new repository in `<dir>/repo` (cheap key derivation), opened as the drivers see it. */
export async function newArtifactRepository(dir: string): Promise<ArtifactRepository> {
  const password = { kind: 'password', password: 'neo4j test' } as const;
  const store = createLocalStore({ path: join(dir, 'repo') });
  await initRepository(store, password, { scryptParams: { N: 1024, r: 8, p: 1 } });
  return artifactRepository(await openRepository(store, password));
}

/**
 * Commits a backup of source `from.source` holding `from`'s artifacts, whose record claims
 * `meta`: a backup as another Neo4j (a newer release, another store format) would have made it.
 */
export async function claimBackup(
  repo: ArtifactRepository,
  from: BackupRecord,
  meta: Neo4jBackupMeta,
): Promise<BackupRecord> {
  const session = await repo.startBackup();
  for (const { path } of await repo.listArtifacts(from.id))
    await session.addArtifact(path, repo.openArtifact(from.id, path));
  return session.commit({
    source: from.source,
    kind: 'neo4j',
    type: 'full',
    startedAt: new Date(),
    paths: [...from.paths],
    meta: { neo4j: meta },
  });
}

/**
 * `repo`, whose backups hold each artifact's stream at its first relationship line (a logical
 * export has read all its nodes by then) until `write` has run: writes during an export, at a
 * known moment.
 */
export function writeDuringExport(
  repo: ArtifactRepository,
  write: () => Promise<void>,
): ArtifactRepository {
  return {
    ...repo,
    async startBackup(options) {
      const session = await repo.startBackup(options);
      return {
        ...session,
        addArtifact: (path, data, opts) => session.addArtifact(path, heldAtFirstRel(data), opts),
      };
    },
  };
  async function* heldAtFirstRel(data: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let written = false;
    for await (const chunk of data) {
      if (!written && Buffer.from(chunk).includes('"type":"rel"')) {
        written = true;
        await write();
      }
      yield chunk;
    }
  }
}

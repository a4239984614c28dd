/**
 * `mode: enterprise` against a real Neo4j Enterprise 5.x server, only where
 * HBR_TEST_NEO4J_ENTERPRISE_HOME is set: Enterprise is not on Maven Central (its jars stopped
 * being published there after 3.5), so it cannot be assembled like the Community server of
 * scripts/services/neo4j.sh, and no test may download it from elsewhere.
 *
 *   HBR_TEST_NEO4J_ENTERPRISE_HOME=/opt/neo4j-enterprise-5.26.x \
 *     node --import tsx --test test/neo4j/enterprise-server.test.ts
 *
 * The home is an unpacked Enterprise tarball whose license was accepted
 * (`bin/neo4j-admin server license --accept-evaluation` or `--accept-commercial`). The test
 * leaves it untouched: its own conf, data, logs and run folders live in a temp folder
 * (NEO4J_CONF), every listener on 127.0.0.1 and free ports; it stops the server at the end.
 * Full backup, change, differential, change again, restore to the differential: the graph
 * equals the differential's moment.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Driver } from 'neo4j-driver';
import { createNeo4jAdmin, type Neo4jAdmin } from '../../src/drivers/neo4j/admin.ts';
import { backupNeo4j, neo4jMeta } from '../../src/drivers/neo4j/backup.ts';
import { openBolt, toNumber, type BoltOptions } from '../../src/drivers/neo4j/bolt.ts';
import type { EnterpriseSettings } from '../../src/drivers/neo4j/enterprise-config.ts';
import { restoreNeo4j } from '../../src/drivers/neo4j/restore.ts';
import { createNeo4jServer, type Neo4jServer } from '../../src/drivers/neo4j/server.ts';
import type { ArtifactRepository, BackupRecord } from '../../src/repository/types.ts';
import { createProvenanceGraph, sampleAtoms, newArtifactRepository } from './helpers.ts';

const home = process.env.HBR_TEST_NEO4J_ENTERPRISE_HOME;
const PASSWORD = 'hbr-enterprise-test';
const SAMPLE = [0, 500, 1_999];

describe(
  'enterprise backups against a real Neo4j Enterprise server',
  { skip: home ? false : 'HBR_TEST_NEO4J_ENTERPRISE_HOME is not set' },
  () => {
    let dir: string;
    let repo: ArtifactRepository;
    let server: Neo4jServer;
    let admin: Neo4jAdmin;
    let bolt: BoltOptions;
    let settings: EnterpriseSettings;
    let driver: Driver;
    let full: BackupRecord;
    let diff: BackupRecord;
    let atDiff: { atoms: number; sample: unknown[] };

    const atoms = async () => {
      const { records } = await driver.executeQuery('MATCH (a:Atom) RETURN count(a) AS c');
      return toNumber(records[0]?.get('c'));
    };
    const backup = (type: EnterpriseSettings['type']) =>
      backupNeo4j({
        repo,
        source: 'graph',
        mode: 'enterprise',
        server,
        admin,
        bolt,
        enterprise: { ...settings, type },
      });

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'hbr-neo4j-ent-server-'));
      const conf = join(dir, 'conf');
      await mkdir(conf);
      const [boltPort, backupPort, ...cluster] = await freePorts(6);
      await writeFile(join(conf, 'neo4j.conf'), neo4jConf(dir, boltPort!, backupPort!, cluster));
      bolt = { url: `bolt://127.0.0.1:${boltPort}`, user: 'neo4j', password: PASSWORD };
      admin = createNeo4jAdmin({ home: home!, conf });
      server = createNeo4jServer({
        home: home!,
        conf,
        bolt,
        pidFile: join(dir, 'run', 'neo4j.pid'),
      });
      await admin.run(['dbms', 'set-initial-password', PASSWORD]);
      await server.start();
      driver = openBolt(bolt);
      await createProvenanceGraph(driver, 2_000);
      settings = {
        from: [`127.0.0.1:${backupPort}`],
        workDir: join(dir, 'work'),
        type: 'auto',
        maxDifferentials: 6,
        includeSystem: true,
        compress: false,
      };
      repo = await newArtifactRepository(dir);
    });

    after(async () => {
      await driver?.close();
      await server?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test('the first backup is a full of neo4j and system, taken online', async () => {
      const pid = await server.pid();
      full = await backup('auto');
      assert.equal(full.type, 'full');
      const meta = neo4jMeta(full);
      assert.equal(meta.mode, 'enterprise');
      assert.match(meta.edition, /enterprise/i);
      assert.equal(meta.databases.neo4j?.backupType, 'full');
      assert.equal(meta.facts.neo4j?.labels.Atom, 2_000);
      assert.equal(await server.pid(), pid, 'no downtime');
      const names = (await repo.listArtifacts(full.id)).map((a) => a.path).sort();
      assert.equal(names.length, 2);
      assert.match(names[0]!, /^neo4j-.+\.backup$/);
      assert.match(names[1]!, /^system-.+\.backup$/);
    });

    test('after changes, the next backup is a differential on the full', async () => {
      await driver.executeQuery(
        'UNWIND range(1, 300) AS i CREATE (:Atom {atomId: 100000 + i, kind: "new", hash: "n" + i})',
      );
      await driver.executeQuery(
        'MATCH (a:Atom) WHERE a.atomId >= 1000 AND a.atomId < 1100 DETACH DELETE a',
      );
      atDiff = { atoms: await atoms(), sample: await sampleAtoms(driver, SAMPLE) };
      diff = await backup('auto');
      assert.equal(diff.type, 'diff');
      assert.equal(diff.parent, full.id);
      const record = neo4jMeta(diff).databases.neo4j;
      assert.equal(record?.backupType, 'diff');
      assert.deepEqual(record?.chain, [neo4jMeta(full).databases.neo4j?.artifact]);
      assert.ok(
        diff.summary.addedBytes < full.summary.addedBytes / 2,
        `the differential added ${diff.summary.addedBytes} bytes, the full ${full.summary.addedBytes}`,
      );
    });

    test('a restore of the differential brings back its moment, counts equal', async () => {
      await driver.executeQuery('MATCH (a:Atom) WHERE a.atomId < 500 DETACH DELETE a');
      assert.notEqual(await atoms(), atDiff.atoms);
      const result = await restoreNeo4j({
        repo,
        backupId: diff.id,
        server,
        admin,
        bolt,
        workDir: join(dir, 'restore-work'),
      });
      assert.deepEqual(result.databases, ['neo4j']);
      await driver.close();
      driver = openBolt(bolt);
      assert.equal(await atoms(), atDiff.atoms);
      assert.deepEqual(await sampleAtoms(driver, SAMPLE), atDiff.sample);
      assert.equal(result.facts.neo4j?.nodes, neo4jMeta(diff).facts.neo4j?.nodes);
    });
  },
);

// --- internal ---

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function neo4jConf(dir: string, bolt: number, backup: number, cluster: number[]): string {
  const [discovery, clusterPort, raft, routing] = cluster;
  return [
    `server.directories.data=${join(dir, 'data')}`,
    `server.directories.logs=${join(dir, 'logs')}`,
    `server.directories.run=${join(dir, 'run')}`,
    `server.directories.import=${join(dir, 'import')}`,
    'server.default_listen_address=127.0.0.1',
    'server.default_advertised_address=127.0.0.1',
    `server.bolt.listen_address=127.0.0.1:${bolt}`,
    'server.http.enabled=false',
    'server.https.enabled=false',
    'server.backup.enabled=true',
    `server.backup.listen_address=127.0.0.1:${backup}`,
    // A standalone Enterprise server still binds its cluster listeners; keep them off the defaults.
    `server.discovery.listen_address=127.0.0.1:${discovery}`,
    `server.cluster.listen_address=127.0.0.1:${clusterPort}`,
    `server.cluster.raft.listen_address=127.0.0.1:${raft}`,
    `server.routing.listen_address=127.0.0.1:${routing}`,
    // Setting names differ between 5.x patches; an unknown one must not stop the test server.
    'server.config.strict_validation.enabled=false',
    'server.memory.heap.initial_size=256m',
    'server.memory.heap.max_size=512m',
    'server.memory.pagecache.size=64m',
    '',
  ].join('\n');
}

/**
 * `mode: enterprise`: online backups with `neo4j-admin database backup` (Neo4j Enterprise), no
 * stop and no downtime. Each database (and `system`, unless turned off) is backed up by its own
 * neo4j-admin run into its own folder under the work directory; the artifact it writes is stored
 * in the repository, then the folder is removed.
 *
 * A differential needs the chain it extends in its `--to-path`: neo4j-admin reads the newest
 * artifact there to know from which transaction to pull. That chain is materialised from the
 * repository, not kept as a local cache between runs: the repository is what a restore will use,
 * so a differential is only ever based on artifacts the repository holds and has just
 * authenticated. A cache could hold an artifact the repository lacks (a failed or aborted run, a
 * `forget`, another host's work directory) and neo4j-admin would then write a differential whose
 * base nobody can restore. Reading the chain back costs a read of the full per run; the artifacts
 * are stored again in the new backup (deduplicated to nothing), so every backup holds its whole
 * chain and restores on its own.
 * @module
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../errors.ts';
import type { BackupRecord } from '../../repository/types.ts';
import type { Neo4jBackupMeta, Neo4jBackupOptions, Neo4jDatabaseRecord } from './backup.ts';
import { openBolt } from './bolt.ts';
import {
  listBackupFiles,
  materializeArtifacts,
  newArtifact,
  storeArtifacts,
} from './enterprise-artifacts.ts';
import { planEnterpriseBackup } from './enterprise-chain.ts';
import { assertEnterpriseAdmin, enterpriseBackupArgs } from './enterprise-commands.ts';
import { readGraphFacts, sameCounts, type GraphFacts } from './facts.ts';
import { assertVersionsMatch } from './store-state.ts';

/**
 * Takes one online backup (full or differential, as `options.enterprise.type` and the
 * repository's earlier backups decide) and commits it.
 * @throws UsageError without enterprise settings, or for `type: diff` with nothing to extend;
 *   SourceError when neo4j-admin has no `database backup` (Community) or a run fails; the session
 *   is aborted and the work folder removed.
 */
export async function backupNeo4jEnterprise(options: Neo4jBackupOptions): Promise<BackupRecord> {
  const settings = options.enterprise;
  if (settings === undefined)
    throw new UsageError('[neo4j:enterprise] mode enterprise needs its enterprise settings');
  const { admin, signal } = options;
  const repo = await options.repo;
  const clock = options.clock ?? (() => new Date());
  const databases = options.databases ?? ['neo4j'];
  const all = [...new Set(settings.includeSystem ? [...databases, 'system'] : databases)];
  await assertEnterpriseAdmin(admin, signal ? { signal } : {});
  const startedAt = clock();
  const { version, edition } = await options.server.version();
  assertVersionsMatch(await admin.version(signal ? { signal } : {}), version);
  const before = await readFacts(options, databases);
  const plan = planEnterpriseBackup(
    await repo.listBackups({ signal }),
    options.source,
    all,
    settings.type,
    settings.maxDifferentials,
  );
  await mkdir(settings.workDir, { recursive: true });
  const runDir = await mkdtemp(join(settings.workDir, 'hbr-run-'));
  try {
    const session = await repo.startBackup({ signal });
    try {
      const records: Record<string, Neo4jDatabaseRecord> = {};
      for (const [i, db] of all.entries()) {
        // One folder per database: neo4j-admin picks the chain to extend from what --to-path holds.
        const dir = join(runDir, `db-${i}`);
        await mkdir(dir);
        const chain = plan.chains[db] ?? [];
        if (plan.base !== undefined && chain.length > 0) {
          await materializeArtifacts(repo, plan.base.id, chain, dir, signal);
          await storeArtifacts(session, dir, chain, signal);
        }
        const existing = await listBackupFiles(dir);
        await admin.run(
          enterpriseBackupArgs(db, settings, plan.type, dir),
          signal ? { signal } : {},
        );
        const artifact = newArtifact(existing, await listBackupFiles(dir), db);
        await storeArtifacts(session, dir, [artifact], signal);
        records[db] = { artifact, kind: 'backup-artifact', backupType: plan.type, chain };
      }
      // Writers may run during an online backup: counts are only comparable after a restore
      // when they did not move while the backup ran.
      const after = await readFacts(options, databases);
      for (const db of databases) {
        const record = records[db];
        if (record !== undefined)
          records[db] = { ...record, countsStable: sameCounts(before[db], after[db]) };
      }
      const meta: Neo4jBackupMeta = {
        mode: 'enterprise',
        version,
        edition,
        downtimeMs: 0,
        databases: records,
        facts: after,
      };
      return await session.commit({
        source: options.source,
        kind: 'neo4j',
        type: plan.type,
        startedAt,
        paths: databases,
        tags: options.tags,
        ...(plan.base !== undefined ? { parent: plan.base.id } : {}),
        meta: { neo4j: meta },
      });
    } catch (error) {
      await session.abort();
      throw error;
    }
  } finally {
    // After a commit the repository holds every artifact; after a failure nothing refers to
    // these files and the next run starts its own folder, so they would only fill the disk.
    await rm(runDir, { recursive: true, force: true });
  }
}

// --- internal ---

async function readFacts(
  options: Neo4jBackupOptions,
  databases: readonly string[],
): Promise<Record<string, GraphFacts>> {
  const driver = openBolt(options.bolt);
  const facts: Record<string, GraphFacts> = {};
  try {
    for (const db of databases)
      facts[db] = await readGraphFacts(
        driver,
        options.bolt,
        db,
        options.signal ? { signal: options.signal } : {},
      );
  } finally {
    await driver.close();
  }
  return facts;
}

/**
 * `hbr verify` of `mode: enterprise` backups: each database's chain is materialised in a scratch
 * folder, a chain with differentials is aggregated into one full artifact (the consistency
 * checker cannot read differentials), and `neo4j-admin database check --from-path` checks it.
 * The live server is not touched.
 * @module
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactRepository, BackupRecord } from '../../repository/types.ts';
import type { CheckResult, Neo4jAdmin } from './admin.ts';
import type { Neo4jBackupMeta } from './backup.ts';
import { materializeArtifacts } from './enterprise-artifacts.ts';
import { chainOf, enterpriseRecord } from './enterprise-chain.ts';
import { assertEnterpriseAdmin } from './enterprise-commands.ts';

/**
 * `neo4j-admin database aggregate-backup` of the chain ending at `lastArtifact`: neo4j-admin
 * finds the earlier artifacts beside it and replaces the chain with one full artifact in the same
 * folder. Given a file, neo4j-admin wants no database name.
 */
export function enterpriseAggregateArgs(lastArtifact: string): string[] {
  return ['database', 'aggregate-backup', `--from-path=${lastArtifact}`, '--keep-old-backup=false'];
}

/**
 * Checks every database (including `system`) of an enterprise backup.
 * @returns the checker's result per database; an inconsistent store is a result.
 * @throws IntegrityError when an artifact cannot be read back; SourceError when neo4j-admin lacks
 *   the Enterprise commands or aggregation fails.
 */
export async function verifyEnterpriseBackup(options: {
  readonly repo: ArtifactRepository;
  readonly backup: BackupRecord;
  readonly admin: Neo4jAdmin;
  /** Room for the chain, the aggregated artifact and the checker's extracted store. */
  readonly scratch: string;
  readonly signal?: AbortSignal;
}): Promise<Record<string, CheckResult>> {
  const { repo, backup, admin, signal } = options;
  const meta = backup.meta.neo4j as Neo4jBackupMeta;
  await assertEnterpriseAdmin(admin, signal ? { signal } : {});
  await mkdir(options.scratch, { recursive: true });
  const results: Record<string, CheckResult> = {};
  for (const db of Object.keys(meta.databases)) {
    const record = enterpriseRecord(meta, db);
    if (record === undefined) continue;
    const dir = await mkdtemp(join(options.scratch, 'hbr-verify-'));
    try {
      const chain = chainOf(record);
      const files = await materializeArtifacts(repo, backup.id, chain, dir, signal);
      if (files.length > 1)
        await admin.run(enterpriseAggregateArgs(files.at(-1)!), signal ? { signal } : {});
      results[db] = await admin.check(db, {
        fromPath: dir,
        tempPath: dir,
        reportPath: dir,
        ...(signal ? { signal } : {}),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return results;
}

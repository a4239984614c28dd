/**
 * Restores `mode: enterprise` backups: materialise each database's chain (full + differentials
 * up to the chosen backup) from the repository into a scratch folder, stop the server, run
 * `neo4j-admin database restore --from-path=<last artifact> --overwrite-destination=true`, start
 * the server, then compare the counts per label and type with the backup's record.
 *
 * The chain is read (and so authenticated) completely before the server is stopped: a damaged
 * backup never costs the live database. The whole server is stopped, not just the database,
 * because that is what the source's configured controls do and a stopped DBMS is a stopped
 * database for `restore` in every edition and topology hbr supports (standalone).
 * @module
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceError } from '../../errors.ts';
import type { BackupRecord } from '../../repository/types.ts';
import type { Neo4jBackupMeta } from './backup.ts';
import { compareRestoredFacts } from './compare-facts.ts';
import { materializeArtifacts } from './enterprise-artifacts.ts';
import { chainOf, enterpriseRecord } from './enterprise-chain.ts';
import { assertEnterpriseAdmin, enterpriseRestoreArgs } from './enterprise-commands.ts';
import type { Neo4jRestoreOptions, Neo4jRestoreResult } from './restore.ts';
import { restartSignal } from './server.ts';

/**
 * Restores an enterprise backup into the server of `options` and checks its counts.
 * @throws IntegrityError when an artifact cannot be read back (nothing was stopped) or counts
 *   differ from the backup's record; SourceError when neo4j-admin lacks `database restore`
 *   (Community) or a restore fails (the server is started again first).
 */
export async function restoreNeo4jEnterprise(
  options: Neo4jRestoreOptions,
  record: BackupRecord,
  meta: Neo4jBackupMeta,
): Promise<Neo4jRestoreResult> {
  const { repo, admin, server, signal } = options;
  const databases = enterpriseDatabases(meta, options.includeSystem === true);
  await assertEnterpriseAdmin(admin, signal ? { signal } : {});
  const root = options.workDir ?? tmpdir();
  await mkdir(root, { recursive: true });
  const runDir = await mkdtemp(join(root, 'hbr-restore-'));
  try {
    const last: Record<string, string> = {};
    for (const [i, db] of databases.entries()) {
      const dir = join(runDir, `db-${i}`);
      await mkdir(dir);
      const files = await materializeArtifacts(
        repo,
        record.id,
        chainFor(meta, db, record),
        dir,
        signal,
      );
      last[db] = files.at(-1)!;
    }
    signal?.throwIfAborted();
    // Neither the stop nor the start is cut short by the signal: a cancelled restore (Ctrl-C)
    // must still leave the server running (restartSignal).
    await server.stop();
    try {
      for (const db of databases)
        await admin.run(enterpriseRestoreArgs(db, last[db]!), signal ? { signal } : {});
    } finally {
      await server.start({ signal: restartSignal() });
    }
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
  // Counts that moved while the online backup ran say nothing about the backup's moment.
  const facts = await compareRestoredFacts(options.bolt, meta.facts, databases, {
    ...(signal ? { signal } : {}),
    compare: (db) => meta.databases[db]?.countsStable !== false,
  });
  return { databases, facts };
}

/**
 * The steps {@link restoreNeo4jEnterprise} would run, for `--dry-run`.
 * @param admin the neo4j-admin executable; `stop`/`start` describe the server controls.
 */
export function describeEnterpriseRestore(
  backup: BackupRecord,
  includeSystem: boolean,
  commands: {
    readonly admin: string;
    readonly stop: string;
    readonly start: string;
    readonly workDir?: string | undefined;
  },
): { databases: string[]; steps: string[] } {
  const meta = backup.meta.neo4j as Neo4jBackupMeta;
  const databases = enterpriseDatabases(meta, includeSystem);
  const where = commands.workDir ?? tmpdir();
  const steps = [
    ...databases.map((db) => {
      const chain = chainFor(meta, db, backup);
      return `materialise the chain of ${db} from backup ${backup.shortId} into ${where}: ${chain.join(' + ')}`;
    }),
    `stop: ${commands.stop}`,
    ...databases.map((db) => {
      const chain = chainFor(meta, db, backup);
      return `${commands.admin} ${enterpriseRestoreArgs(db, join('<scratch>', chain.at(-1) ?? '?')).join(' ')}`;
    }),
    `start: ${commands.start}`,
  ];
  return { databases, steps };
}

// --- internal ---

function enterpriseDatabases(meta: Neo4jBackupMeta, includeSystem: boolean): string[] {
  return Object.keys(meta.databases).filter((db) => db !== 'system' || includeSystem);
}

function chainFor(meta: Neo4jBackupMeta, db: string, backup: BackupRecord): string[] {
  const r = enterpriseRecord(meta, db);
  if (r === undefined) {
    throw new SourceError(
      `[neo4j:enterprise] backup ${backup.shortId} has no backup artifact for database ${db}`,
    );
  }
  return chainOf(r);
}

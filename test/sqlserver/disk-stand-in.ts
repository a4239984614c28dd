/**
 * The setup of the tests of a SQL Server source with the disk transport, against the stand-in
 * server: a temporary folder, the server's backup folder in it, the stand-in with one database, a
 * repository and the source's settings.
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { SqlServerSourceSettings } from '../../src/drivers/sqlserver/backup-source.ts';
import { initRepository, type OpenRepository } from '../../src/repository/index.ts';
import { createLocalStore } from '../../src/stores/local.ts';
import { tempDir } from '../helpers/temp.ts';
import { createStandInServer, type StandInServer } from './stand-in-server.ts';

/** A new repository at `path`, quick to open (small scrypt parameters). */
export async function newRepo(path: string): Promise<OpenRepository> {
  return initRepository(
    createLocalStore({ path }),
    { kind: 'password', password: 'pw' },
    { scryptParams: { N: 1024, r: 8, p: 1 }, packSize: 8 * 1024 * 1024 },
  );
}

/** What {@link diskStandIn} made. */
export interface DiskStandIn {
  /** The stand-in, holding the database. */
  readonly sql: StandInServer;
  /** The repository, at `repo` in the temporary folder. */
  readonly repo: OpenRepository;
  /** Its folder, for the CLI (`HBR_REPOSITORY`; password `pw`). */
  readonly repoPath: string;
  /** The source: the database, named in lower case, through the staging folder. */
  readonly settings: SqlServerSourceSettings;
  /** The staging folder: /var/opt/mssql/backup/hbr on the server, `backup/hbr` here. */
  readonly staging: { readonly serverPath: string; readonly localPath: string };
}

/**
 * Makes a temporary folder, removed when test `t` ends, holding the server's backup folder
 * (/var/opt/mssql/backup as `backup`) with hbr's staging folder made in it, so that a DBA's backup
 * can be written beside hbr's; a stand-in server with `database` in full recovery; a repository;
 * and settings of a source backing the database up to the repository through the staging folder,
 * `settings` overriding them.
 *
 * @example
 * it('backs up in two stripes', async (t) => {
 *   const { sql, repo, settings } = await diskStandIn(t, 'Ledger', { stripes: 2 });
 *   await backupSqlServerSource(sql, repo, settings, 'full');
 * });
 */
export async function diskStandIn(
  t: TestContext,
  database: string,
  settings: Partial<SqlServerSourceSettings> = {},
): Promise<DiskStandIn> {
  const dir = await tempDir();
  t.after(() => dir.remove());
  const disk = { serverPath: '/var/opt/mssql/backup', localPath: join(dir.path, 'backup') };
  const staging = { serverPath: `${disk.serverPath}/hbr`, localPath: join(disk.localPath, 'hbr') };
  await mkdir(staging.localPath, { recursive: true });
  // Only BACKUP TO URL and RESTORE FROM URL use the credential's SAS token.
  const sql = createStandInServer({ sas: 'sig=x', disk });
  sql.createDatabase(database);
  const repoPath = join(dir.path, 'repo');
  return {
    sql,
    repo: await newRepo(repoPath),
    repoPath,
    settings: {
      source: database.toLowerCase(),
      database,
      transport: { kind: 'disk', staging },
      ...settings,
    },
    staging,
  };
}

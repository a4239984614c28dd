/**
 * The neo4j-admin command lines of `mode: enterprise` (Neo4j 5.x `database backup` and
 * `database restore`, Enterprise Edition only), and the check that the configured neo4j-admin
 * has them at all.
 * @module
 */
import { SourceError } from '../../errors.ts';
import type { Neo4jAdmin } from './admin.ts';
import type { EnterpriseSettings } from './enterprise-config.ts';

/**
 * `neo4j-admin database backup` of one database into `toPath` (a folder). The type is always
 * explicit (never neo4j-admin's AUTO) so the backup record states what the artifact is;
 * `--include-metadata` is left out for `system`, which neo4j-admin refuses it for.
 */
export function enterpriseBackupArgs(
  database: string,
  settings: EnterpriseSettings,
  type: 'full' | 'diff',
  toPath: string,
): string[] {
  const args = [
    'database',
    'backup',
    `--from=${settings.from.join(',')}`,
    `--to-path=${toPath}`,
    `--type=${type === 'full' ? 'FULL' : 'DIFF'}`,
    `--compress=${settings.compress}`,
  ];
  if (settings.includeMetadata !== undefined && database !== 'system')
    args.push(`--include-metadata=${settings.includeMetadata}`);
  if (settings.pagecache !== undefined) args.push(`--pagecache=${settings.pagecache}`);
  args.push(database);
  return args;
}

/**
 * `neo4j-admin database restore` of the chain ending at `lastArtifact` (a file path): given a
 * differential, neo4j-admin finds the full and the earlier differentials in the same folder and
 * replays them in order. The database must be offline.
 */
export function enterpriseRestoreArgs(database: string, lastArtifact: string): string[] {
  return [
    'database',
    'restore',
    `--from-path=${lastArtifact}`,
    '--overwrite-destination=true',
    database,
  ];
}

/**
 * Whether neo4j-admin has `database backup` (Enterprise Edition). Community's picocli answers
 * `database backup --help` with the `database` command list and exit 0, so the usage line, not
 * the exit code, tells the editions apart.
 * @throws SourceError when neo4j-admin is missing or fails.
 */
export async function hasEnterpriseCommands(
  admin: Neo4jAdmin,
  options: { signal?: AbortSignal } = {},
): Promise<boolean> {
  const { stdout, stderr } = await admin.run(['database', 'backup', '--help'], options);
  return /Usage: neo4j-admin database backup\b/.test(`${stdout}\n${stderr}`);
}

/**
 * Refuses a neo4j-admin without `database backup` (Community Edition).
 * @throws SourceError naming the executable when the command is missing or neo4j-admin fails.
 */
export async function assertEnterpriseAdmin(
  admin: Neo4jAdmin,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  if (await hasEnterpriseCommands(admin, options)) return;
  throw new SourceError(
    `[neo4j:admin] ${admin.command} has no "database backup" command (Neo4j Community Edition): ` +
      'mode: enterprise needs the neo4j-admin of a Neo4j Enterprise installation; ' +
      'use mode: dump (offline) or mode: logical (online export) with Community',
  );
}

/**
 * Driver operations on a live server: server facts, the database's state, BACKUP with its header
 * read back, VERIFYONLY, restore scripts with the ONLINE check, CHECKDB, row counts. Thin: the T-SQL
 * and the parsing are the pure modules beside this one.
 * @module
 */
import { SourceError } from '../../errors.ts';
import {
  buildCheckDb,
  parseCheckDbRows,
  type CheckDbOptions,
  type CheckDbResult,
} from './checkdb.ts';
import { parseIsoInstant } from './dates.ts';
import type { BackupDevice } from './device.ts';
import { databaseStateQuery, parseDatabaseState, type DatabaseState } from './eligibility.ts';
import type { ExecOptions, SqlExecutor } from './executor.ts';
import {
  parseFileListRows,
  parseHeaderRows,
  type BackupFileEntry,
  type BackupHeader,
} from './headers.ts';
import { quoteName, quoteString } from './quote.ts';
import { parseReplicaRole, replicaRoleQuery, type ReplicaRole } from './replica-role.ts';
import { buildBackup, type BackupOptions } from './tsql-backup.ts';
import { fileListOnlyQuery, headerOnlyQuery, restoreVerifyOnly } from './tsql-inspect.ts';
import type { RestoreStatement } from './tsql-restore.ts';

/** Facts about the server that T-SQL generation needs. */
export interface ServerInfo {
  readonly serverName: string;
  readonly productVersion: string;
  readonly majorVersion: number;
  /** Current offset of the server clock from UTC in minutes (STOPAT is server-local). */
  readonly utcOffsetMinutes: number;
  /** The server clock when read (`SYSUTCDATETIME()`); `null` when it did not say. */
  readonly now: Date | null;
  /** `CURRENT_TIMEZONE_ID()` (SQL Server 2022 and later; else `null`): STOPAT's offset at the target. */
  readonly timeZone: string | null;
  readonly dataPath: string;
  readonly logPath: string;
}

/** Reads version, clock, time zone and offset, and default file folders. @throws SourceError */
export async function readServerInfo(
  exec: SqlExecutor,
  opts: ExecOptions = {},
): Promise<ServerInfo> {
  const [row] = await exec.query(
    `SELECT @@SERVERNAME AS n, CONVERT(nvarchar(128), SERVERPROPERTY('ProductVersion')) AS v,
       DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) AS o, CONVERT(varchar(23), SYSUTCDATETIME(), 126) AS t,
       CONVERT(nvarchar(260), SERVERPROPERTY('InstanceDefaultDataPath')) AS d,
       CONVERT(nvarchar(260), SERVERPROPERTY('InstanceDefaultLogPath')) AS l;`,
    opts,
  );
  const text = (key: string): string => (typeof row?.[key] === 'string' ? row[key] : '');
  const productVersion = text('v');
  const majorVersion = Number(productVersion.split('.')[0]);
  // Earlier servers have no T-SQL for their time zone, only for today's offset.
  const zone =
    majorVersion >= 16
      ? (await exec.query('SELECT CURRENT_TIMEZONE_ID() AS z;', opts))[0]?.z
      : undefined;
  return {
    serverName: text('n'),
    productVersion,
    majorVersion,
    utcOffsetMinutes: Number(row?.o ?? 0),
    now: text('t') ? parseIsoInstant(text('t')) : null,
    timeZone: typeof zone === 'string' && zone !== '' ? zone : null,
    dataPath: text('d'),
    logPath: text('l') || text('d'),
  };
}

/**
 * The database's state ({@link databaseStateQuery}) and, in an availability group, its replica's
 * role ({@link replicaRoleQuery}, a query of its own). A role query that fails (no VIEW SERVER
 * STATE) leaves the role unknown, with the error as the reason: the backup goes on.
 * @throws SourceError when the database is missing or the state query fails
 */
export async function readDatabaseState(
  exec: SqlExecutor,
  database: string,
  opts: ExecOptions = {},
): Promise<DatabaseState> {
  const state = parseDatabaseState(database, await exec.query(databaseStateQuery(database), opts));
  const replica = state.availabilityReplica;
  if (replica === null) return state;
  let role: ReplicaRole;
  try {
    role = parseReplicaRole(await exec.query(replicaRoleQuery(replica.id), opts));
  } catch (error) {
    if (!(error instanceof SourceError)) throw error;
    role = { role: 'unknown', why: `its role was not read: ${error.message}` };
  }
  return { ...state, availabilityReplica: { id: replica.id, ...role } };
}

/** RESTORE HEADERONLY of a media, LSNs exact. @throws SourceError */
export async function readHeaders(
  exec: SqlExecutor,
  info: ServerInfo,
  devices: readonly BackupDevice[],
  opts: ExecOptions = {},
): Promise<BackupHeader[]> {
  const rows = await exec.query(headerOnlyQuery(devices, info.majorVersion), {
    timeoutMs: 0,
    ...opts,
  });
  return parseHeaderRows(
    rows,
    devices.map((d) => d.path),
  );
}

/** RESTORE FILELISTONLY of one set. @throws SourceError */
export async function readFileList(
  exec: SqlExecutor,
  info: ServerInfo,
  devices: readonly BackupDevice[],
  position: number,
  opts: ExecOptions = {},
): Promise<BackupFileEntry[]> {
  const rows = await exec.query(fileListOnlyQuery(devices, position, info.majorVersion), {
    timeoutMs: 0,
    ...opts,
  });
  return parseFileListRows(rows);
}

/**
 * Runs a BACKUP and returns the header of the set it wrote (read back with HEADERONLY).
 * @throws SourceError when the backup fails or its header cannot be found.
 */
export async function runBackup(
  exec: SqlExecutor,
  info: ServerInfo,
  options: BackupOptions,
  opts: ExecOptions = {},
): Promise<BackupHeader> {
  await exec.run(buildBackup(options), opts);
  const headers = await readHeaders(exec, info, options.devices, opts);
  const last = headers.reduce<BackupHeader | null>(
    (a, h) => (a === null || h.record.position > a.record.position ? h : a),
    null,
  );
  if (!last)
    throw new SourceError(
      `[sqlserver:${info.serverName}] ${options.database}: no backup set on ${options.devices[0]?.path}`,
    );
  return last;
}

/**
 * RESTORE VERIFYONLY, WITH CHECKSUM when the set has checksums (`header.hasBackupChecksums`): on a
 * set written with NO_CHECKSUM (config `checksum: false`) CHECKSUM would fail every verification.
 * @throws SourceError when the set is unreadable or damaged
 */
export async function verifyBackup(
  exec: SqlExecutor,
  devices: readonly BackupDevice[],
  header: BackupHeader,
  opts: ExecOptions = {},
): Promise<void> {
  const checksum = header.hasBackupChecksums;
  await exec.run(restoreVerifyOnly(devices, header.record.position, { checksum }), opts);
}

/**
 * Runs a restore script in order on the executor's single session and checks the database is
 * ONLINE at the end. `onStep` reports step i of n.
 * @throws SourceError on the first failing statement, or when the database is not ONLINE.
 */
export async function runRestoreScript(
  exec: SqlExecutor,
  script: readonly RestoreStatement[],
  opts: ExecOptions & {
    onStep?: (index: number, total: number, statement: RestoreStatement) => void;
  } = {},
): Promise<void> {
  for (const [i, statement] of script.entries()) {
    opts.onStep?.(i + 1, script.length, statement);
    const result = await exec.run(statement.sql, opts);
    if (statement.kind !== 'check-online') continue;
    const state = result.recordsets[0]?.[0]?.state_desc;
    if (state !== 'ONLINE') {
      throw new SourceError(
        `[sqlserver:restore] ${statement.sql} → state ${JSON.stringify(state ?? null)}, expected ONLINE`,
      );
    }
  }
}

/**
 * DBCC CHECKDB with TABLERESULTS. Corruption the server raises as errors (89xx, 2570) becomes a
 * failed result, not an exception; other failures throw.
 * @throws SourceError when CHECKDB cannot run.
 */
export async function checkDatabase(
  exec: SqlExecutor,
  database: string,
  options: CheckDbOptions = {},
  opts: ExecOptions = {},
): Promise<CheckDbResult> {
  try {
    const result = await exec.run(buildCheckDb(database, options), opts);
    return parseCheckDbRows(result.recordsets.flat());
  } catch (error) {
    const numbers = /Msg (\d+)/g;
    const found = [...(error as Error).message.matchAll(numbers)].map((m) => Number(m[1]));
    if (!found.some((n) => (n >= 8900 && n < 9000) || n === 2570)) throw error;
    return parseCheckDbRows([
      { Error: found[0], Level: 16, MessageText: (error as Error).message },
    ]);
  }
}

/** `SELECT COUNT_BIG(*)` of `schema.table` in a database, as a bigint. @throws SourceError */
export async function countRows(
  exec: SqlExecutor,
  database: string,
  table: { schema: string; name: string },
  opts: ExecOptions = {},
): Promise<bigint> {
  const target = `${quoteName(database)}.${quoteName(table.schema)}.${quoteName(table.name)}`;
  const [row] = await exec.query(
    `SELECT CONVERT(varchar(20), COUNT_BIG(*)) AS n FROM ${target};`,
    opts,
  );
  const n = row?.n;
  if (typeof n !== 'string') throw new SourceError(`[sqlserver] count of ${target}: no result`);
  return BigInt(n);
}

/** Whether a database of that name exists on the server. */
export async function databaseExists(
  exec: SqlExecutor,
  database: string,
  opts: ExecOptions = {},
): Promise<boolean> {
  const rows = await exec.query(
    `SELECT 1 AS x FROM sys.databases WHERE name = ${quoteString(database)};`,
    opts,
  );
  return rows.length > 0;
}

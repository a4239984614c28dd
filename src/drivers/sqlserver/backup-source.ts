/**
 * One backup of a configured SQL Server source, end to end: server facts, eligibility (LOG → DIFF
 * → FULL promotion), BACKUP over the URL or disk transport, VERIFYONLY, HEADERONLY/FILELISTONLY
 * into the manifest meta, the msdb import of backups taken outside hbr, commit.
 * @module
 */
import { startSession, type OpenRepository } from '../../repository/index.ts';
import type { BackupRecord } from '../../repository/types.ts';
import type { BackupSetRecord, BackupSetType } from './backup-set.ts';
import { buildCatalog } from './catalog.ts';
import { backupViaDisk, type DiskStaging } from './disk-transport.ts';
import {
  backupAdvice,
  databaseStateQuery,
  decideBackupType,
  parseDatabaseState,
} from './eligibility.ts';
import type { ExecOptions, SqlExecutor } from './executor.ts';
import { msdbHistoryQuery, parseMsdbRows } from './msdb.ts';
import { readServerInfo } from './operations.ts';
import { recordToJson } from './plan-json.ts';
import type { BackupOptions } from './tsql-backup.ts';
import { backupViaUrl, type UrlTransport } from './url-transport.ts';

/** How backups reach the repository. */
export type SqlServerTransport =
  | { readonly kind: 'url'; readonly url: UrlTransport }
  | { readonly kind: 'disk'; readonly staging: DiskStaging };

/** A source's backup settings (from the config's `sqlserver:` block). */
export interface SqlServerSourceSettings {
  /** The source name in the config (the manifests' `source`). */
  readonly source: string;
  readonly database: string;
  readonly transport: SqlServerTransport;
  /** BACKUP options other than the database, type and devices. */
  readonly backup?: Omit<BackupOptions, 'database' | 'type' | 'devices'>;
  /** @default 1 */
  readonly stripes?: number;
  /** RESTORE VERIFYONLY WITH CHECKSUM after the backup. @default true */
  readonly verify?: boolean;
  /** Promote an impossible LOG/DIFF instead of failing. @default true */
  readonly promote?: boolean;
  /** Days of msdb history imported with each backup; 0 turns the import off. @default 30 */
  readonly importHistoryDays?: number;
}

/** The outcome of {@link backupSqlServerSource}. */
export interface SqlServerBackupResult {
  readonly record: BackupRecord;
  readonly requestedType: BackupSetType;
  readonly type: BackupSetType;
  /** Promotion reasons, deduplication advice, msdb import problems. */
  readonly warnings: readonly string[];
  /** Backup sets taken outside hbr that msdb showed (recorded in `meta.foreign`). */
  readonly foreign: number;
}

/**
 * Takes one backup of the source and commits it.
 * @throws SourceError when the database cannot be backed up as asked (promotion off), or BACKUP,
 * VERIFYONLY or a header read fails; StoreError from the repository. No manifest is written then.
 */
export async function backupSqlServerSource(
  exec: SqlExecutor,
  repo: OpenRepository,
  settings: SqlServerSourceSettings,
  requestedType: BackupSetType,
  opts: ExecOptions & {
    now?: Date;
    tags?: readonly string[];
    /** A tail-log backup: `NO_TRUNCATE, NORECOVERY` (leaves the database RESTORING). */
    tailLog?: boolean;
  } = {},
): Promise<SqlServerBackupResult> {
  const info = await readServerInfo(exec, opts);
  const db = settings.database;
  const state = parseDatabaseState(db, await exec.query(databaseStateQuery(db), opts));
  const decided = decideBackupType(requestedType, state, settings.promote ?? true);
  const warnings = decided.reason ? [decided.reason] : [];
  const request = {
    ...settings.backup,
    database: db,
    type: decided.type,
    stripes: settings.stripes ?? 1,
    verify: settings.verify ?? true,
    ...(opts.tailLog ? { noRecovery: true, noTruncate: true } : {}),
  };
  warnings.push(...backupAdvice({ ...request, devices: [] }, state));
  const startedAt = opts.now ?? new Date();
  const session = await startSession(repo, { ...(opts.signal ? { signal: opts.signal } : {}) });
  try {
    const { meta } =
      settings.transport.kind === 'url'
        ? await backupViaUrl(exec, info, session, repo, settings.transport.url, request, opts)
        : await backupViaDisk(exec, info, session, settings.transport.staging, request, opts);
    const guid = typeof meta.set.BackupSetGUID === 'string' ? meta.set.BackupSetGUID : '';
    const foreign = await importForeign(
      exec,
      repo,
      settings,
      info.serverName,
      guid,
      warnings,
      opts,
    );
    const record = await session.commit({
      source: settings.source,
      kind: 'sqlserver',
      type: decided.type,
      startedAt,
      paths: [db],
      tags: [...(opts.tags ?? []), ...(opts.tailLog ? ['tail-log'] : [])],
      meta: {
        ...meta,
        requestedType,
        promotedBecause: decided.reason,
        server: info.serverName,
        productVersion: info.productVersion,
        transport: settings.transport.kind,
        foreign,
      },
    });
    return { record, requestedType, type: decided.type, warnings, foreign: foreign.length };
  } catch (error) {
    await session.abort();
    throw error;
  }
}

// --- internal ---

/**
 * msdb's sets of the database that hbr does not hold, as `recordToJson` rows. A failing msdb read
 * (no permission on msdb) is a warning: the backup itself is good.
 */
async function importForeign(
  exec: SqlExecutor,
  repo: OpenRepository,
  settings: SqlServerSourceSettings,
  server: string,
  currentGuid: string,
  warnings: string[],
  opts: ExecOptions,
): Promise<Record<string, unknown>[]> {
  const days = settings.importHistoryDays ?? 30;
  if (days === 0) return [];
  let rows: Record<string, unknown>[];
  try {
    rows = await exec.query(msdbHistoryQuery({ database: settings.database, days }), {
      ...opts,
      timeoutMs: 0,
    });
  } catch (error) {
    warnings.push(
      `msdb history not imported (backups taken outside hbr stay unseen): ${(error as Error).message}`,
    );
    return [];
  }
  const own = new Set(
    buildCatalog(await repo.backups(opts.signal), settings.source)
      .entries.filter((e) => e.backupId !== null)
      .map((e) => e.record.backupSetGuid),
  );
  own.add(currentGuid.toLowerCase());
  const prefix = ownPrefix(settings.transport);
  const { records } = parseMsdbRows(rows, server);
  const ours = (r: BackupSetRecord): boolean =>
    prefix !== null && r.files.every((f) => f.startsWith(prefix));
  for (const lost of records.filter((r) => ours(r) && !own.has(r.backupSetGuid))) {
    // BACKUP ran but its commit failed: SQL Server moved its chain on without the repository.
    warnings.push(
      `msdb shows a ${lost.type} backup hbr took at ${lost.finish.toISOString()} (${lost.backupSetGuid}) that is not in the repository: ` +
        (lost.type === 'log'
          ? 'the log chain has a gap there until the next full or differential backup; take one now'
          : 'later differentials are based on it; take a full backup now'),
    );
  }
  return records.filter((r) => !own.has(r.backupSetGuid) && !ours(r)).map(recordToJson);
}

/** Paths of hbr's own devices: sets there whose commit failed are not a DBA's backups. */
function ownPrefix(t: SqlServerTransport): string | null {
  if (t.kind === 'disk') return t.staging.serverPath;
  return t.url.publicUrl
    ? `${t.url.publicUrl.replace(/\/+$/, '')}/${t.url.container ?? 'hbr'}/`
    : null;
}

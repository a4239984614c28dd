/**
 * One backup of a configured SQL Server source, end to end: server facts, the msdb import of
 * backups taken outside hbr, eligibility (LOG → DIFF → FULL promotion, also of a backup no restore
 * could use: see `chain-facts.ts`), BACKUP over the URL or disk transport, VERIFYONLY,
 * HEADERONLY/FILELISTONLY into the manifest meta, commit.
 * @module
 */
import { startSession, type OpenRepository } from '../../repository/index.ts';
import type { BackupRecord } from '../../repository/types.ts';
import type { BackupSetRecord, BackupSetType } from './backup-set.ts';
import { buildCatalog } from './catalog.ts';
import { chainFacts, type ChainFacts } from './chain-facts.ts';
import { backupViaDisk, type DiskStaging } from './disk-transport.ts';
import { backupAdvice, decideBackupType } from './eligibility.ts';
import type { ExecOptions, SqlExecutor } from './executor.ts';
import { readMsdbHistory, runningBackups, sortHistory } from './foreign-history.ts';
import { readForgottenSets } from './forgotten-sets.ts';
import { isDiscardedSet } from './nul-device.ts';
import { readDatabaseState, readServerInfo } from './operations.ts';
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
  /** Why `type` is not `requestedType` (also among `warnings`); `null` when it is. */
  readonly promotedBecause: string | null;
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
  const state = await readDatabaseState(exec, db, opts);
  const warnings: string[] = [];
  const startedAt = opts.now ?? new Date();
  // The lock first, so that another backup of the source reading msdb while this one commits
  // sees it (see `HistoryContext.running`). A lock left behind once the backup is saved is one
  // more warning, not a failed backup.
  const session = await startSession(repo, {
    source: settings.source,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onLockLeft: (left) => warnings.push(left.message),
  });
  try {
    // msdb before BACKUP: what it shows decides whether the backup asked for could be restored.
    // Then, in this order, the other backups running, the manifests and what forget removed.
    const history = await readMsdbHistory(exec, settings, info.serverName, { ...opts, warnings });
    const running = runningBackups(await session.otherLocks(), settings.source);
    const backups = await repo.backups(opts.signal);
    const forgotten = await readForgottenSets(repo, settings.source, {
      signal: opts.signal,
      warnings,
    });
    const unrestorable: BackupSetRecord[] = [];
    const foreign = sortHistory(history, { backups, forgotten, running }, settings, {
      warnings,
      unrestorable,
      once: true,
    });
    const { copyOnly, ...backupOptions } = settings.backup ?? {};
    // Whether the backup would join a chain a restore can use. A tail-log backup must be a log; a
    // copy-only log is taken as asked, outside the chain.
    let chain: ChainFacts | undefined;
    if (requestedType !== 'full' && !opts.tailLog) {
      const catalog = buildCatalog(backups, settings.source, foreign, unrestorable);
      const facts = chainFacts(catalog.records, catalog.unrestorable, state);
      chain = copyOnly === true && requestedType === 'log' ? { ...facts, logGap: null } : facts;
    }
    const decided = decideBackupType(requestedType, state, settings.promote ?? true, chain);
    if (decided.reason) warnings.push(decided.reason);
    if (decided.warning) warnings.push(decided.warning);
    // COPY_ONLY is for fulls and logs: SQL Server ignores it on a differential, which is always
    // based on the last conventional full, so a differential is taken as one and the user told.
    const diffWithCopyOnly = copyOnly === true && decided.type === 'diff';
    if (diffWithCopyOnly)
      warnings.push(
        'copyOnly: a differential cannot be copy-only; taken as a normal differential, based on the last conventional full backup (never one of the copy-only fulls hbr takes), which a restore needs too',
      );
    const request = {
      ...backupOptions,
      ...(copyOnly !== undefined && !diffWithCopyOnly ? { copyOnly } : {}),
      database: db,
      type: decided.type,
      stripes: settings.stripes ?? 1,
      verify: settings.verify ?? true,
      ...(opts.tailLog ? { noRecovery: true, noTruncate: true } : {}),
    };
    warnings.push(...backupAdvice({ ...request, devices: [] }, state));
    const { meta } =
      settings.transport.kind === 'url'
        ? await backupViaUrl(exec, info, session, repo, settings.transport.url, request, opts)
        : await backupViaDisk(exec, info, session, settings.transport.staging, request, opts);
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
        // Read with is_snapshot and device_type, and neither a snapshot nor on a virtual device:
        // the catalog trusts a recorded full or differential only with this mark.
        foreign: foreign.map((r) => ({ ...recordToJson(r), IsSnapshot: false })),
        // Recorded whole, so a plan from the repository alone names the gap each leaves.
        discarded: unrestorable.filter(isDiscardedSet).map(recordToJson),
        lost: unrestorable.filter((r) => !isDiscardedSet(r)).map(recordToJson),
      },
    });
    return {
      record,
      requestedType,
      type: decided.type,
      promotedBecause: decided.reason,
      warnings,
      foreign: foreign.length,
    };
  } catch (error) {
    await session.abort();
    throw error;
  }
}

/**
 * The SQL Server driver's public surface. Pure parts (history, planner, T-SQL, parsing) need no
 * server; `connectSqlServer` and the operations talk to one through `mssql`.
 * @module
 */
export type { BackupSetRecord, BackupSetType } from './backup-set.ts';
export {
  backupSqlServerSource,
  type SqlServerBackupResult,
  type SqlServerSourceSettings,
  type SqlServerTransport,
} from './backup-source.ts';
export { buildCatalog, type CatalogEntry, type SqlServerCatalog } from './catalog.ts';
export { planRestore, type PlanOptions } from './chain.ts';
export { parseIsoInstant } from './dates.ts';
export { deviceOf, type BackupDevice } from './device.ts';
export { backupViaDisk, stageForRestore, type DiskStaging } from './disk-transport.ts';
export { backupAdvice, decideBackupType, type DatabaseState } from './eligibility.ts';
export { connectSqlServer, type SqlExecutor } from './executor.ts';
export {
  parseConnectionUrl,
  parseCredentials,
  type SqlServerConnectionOptions,
} from './connection.ts';
export { parseHistoryJson, normaliseHistory } from './history.ts';
export { formatLsn, parseLsn, type Lsn } from './lsn.ts';
export { metaFromHeader, recordFromMeta, type SqlServerBackupMeta } from './manifest-meta.ts';
export { computeMoves, type FileMove } from './move.ts';
export { msdbHistoryQuery, parseMsdbRows } from './msdb.ts';
export * as operations from './operations.ts';
export type { RestorePlan, RestoreTarget } from './plan.ts';
export { planToJson, type PlanJson } from './plan-json.ts';
export {
  runPostRestoreChecks,
  type PostRestoreChecks,
  type PostRestoreResults,
} from './restore-checks.ts';
export {
  restoreSqlServerSource,
  type SqlServerRestoreRequest,
  type SqlServerRestoreResult,
} from './restore-source.ts';
export { buildBackup, type BackupOptions } from './tsql-backup.ts';
export {
  buildRestoreScript,
  type RestoreScriptOptions,
  type RestoreStatement,
} from './tsql-restore.ts';
export { backupViaUrl, serveForRestore, signatureOf, type UrlTransport } from './url-transport.ts';

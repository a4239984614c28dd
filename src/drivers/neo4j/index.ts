export { backupNeo4j, neo4jMeta } from './backup.ts';
export type {
  Neo4jBackupMeta,
  Neo4jBackupMode,
  Neo4jBackupOptions,
  Neo4jDatabaseRecord,
} from './backup.ts';
export type { EnterpriseSettings } from './enterprise-config.ts';
export { restoreNeo4j, verifyNeo4jBackup } from './restore.ts';
export type { Neo4jRestoreOptions, Neo4jRestoreResult } from './restore.ts';
export { createNeo4jAdmin } from './admin.ts';
export type { CheckResult, Neo4jAdmin, Neo4jAdminOptions } from './admin.ts';
export { createNeo4jServer } from './server.ts';
export type { Neo4jServer, Neo4jServerOptions } from './server.ts';
export { openBolt } from './bolt.ts';
export type { BoltOptions } from './bolt.ts';
export { readGraphFacts } from './facts.ts';
export type { GraphFacts } from './facts.ts';
export { dumpDatabase, loadDatabase } from './dump-stream.ts';
export { unwrapDump, wrapDump, parseDumpMetadata } from './dump-format.ts';
export type { DumpFormat, DumpMetadata } from './dump-format.ts';
export { exportGraph } from './logical-export.ts';
export { importGraph } from './logical-import.ts';
export { assertStoreCleanlyStopped, assertVersionsMatch } from './store-state.ts';
export type { StoreInfo } from './store-state.ts';

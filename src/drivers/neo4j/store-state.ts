/**
 * Facts about a Neo4j store on disk (from `neo4j-admin database info --format=json`) and the
 * checks a physical backup needs before it may dump: the store is not in use, it was shut down
 * cleanly (no recovery pending), and neo4j-admin is the same version as the server.
 * @module
 */
import { SourceError } from '../../errors.ts';

/** One database's store, as `database info` reports it. */
export interface StoreInfo {
  readonly database: string;
  /** A running server (or another tool) holds the store lock. */
  readonly inUse: boolean;
  /** e.g. `record-aligned-1.1`, `block-block-1.1`. */
  readonly storeFormat: string;
  /** Decimal string: transaction ids are 64-bit. */
  readonly lastCommittedTransaction: string;
  /** The store was not shut down cleanly and needs recovery (a start + clean stop) before a dump. */
  readonly recoveryRequired: boolean;
}

/**
 * Parses the JSON line of `database info --format=json` (values are strings in 5.26).
 * @throws SourceError when the output holds no JSON object for the database.
 */
export function parseStoreInfo(stdout: string, database: string): StoreInfo {
  const all = parseStoreInfos(stdout);
  const info = all.find((i) => i.database === database) ?? (all.length === 1 ? all[0] : undefined);
  if (info === undefined) {
    throw new SourceError(
      `[neo4j:admin] database info ${database}: no JSON for it in output: ${stdout.slice(0, 200)}`,
    );
  }
  return { ...info, database: info.database || database };
}

/**
 * Parses the output of `database info --format=json` for one or more databases: a JSON object,
 * or an array of them (5.26 prints an array when the name is a glob).
 * @throws SourceError when the output holds no JSON.
 */
export function parseStoreInfos(stdout: string): StoreInfo[] {
  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('{') || l.startsWith('['));
  if (line === undefined) {
    throw new SourceError(
      `[neo4j:admin] database info: no JSON in output: ${stdout.slice(0, 200)}`,
    );
  }
  const parsed = JSON.parse(line) as unknown;
  const items = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[];
  return items.map((raw) => {
    const str = (key: string): string => {
      const v = raw[key];
      return typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v);
    };
    return {
      database: str('databaseName'),
      inUse: str('inUse') === 'true',
      storeFormat: str('storeFormat'),
      lastCommittedTransaction: str('lastCommittedTransaction'),
      recoveryRequired: str('recoveryRequired') === 'true',
    };
  });
}

/**
 * Refuses a store that cannot be dumped consistently.
 * @throws SourceError when the store is in use or was not shut down cleanly.
 */
export function assertStoreCleanlyStopped(info: StoreInfo): void {
  if (info.inUse) {
    throw new SourceError(
      `[neo4j] database '${info.database}' is in use: a Neo4j process still holds the store lock; ` +
        'stop the server (and any neo4j-admin command) before a dump or load',
    );
  }
  if (info.recoveryRequired) {
    throw new SourceError(
      `[neo4j] database '${info.database}' was not shut down cleanly (recovery required); ` +
        'start Neo4j once so it recovers, stop it cleanly, then back up again',
    );
  }
}

/**
 * Refuses to run neo4j-admin of one version against a server of another: the store formats and
 * recovery logic must match (docker-neo4j#502, research §4).
 * @throws SourceError naming both versions when they differ.
 */
export function assertVersionsMatch(adminVersion: string, serverVersion: string): void {
  if (adminVersion !== serverVersion) {
    throw new SourceError(
      `[neo4j] neo4j-admin is version ${adminVersion} but the server is ${serverVersion}; ` +
        "use the neo4j-admin of the server's installation",
    );
  }
}

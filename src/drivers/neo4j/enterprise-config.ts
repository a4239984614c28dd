/**
 * The `enterprise:` block of a `neo4j:` source (`mode: enterprise`, online
 * `neo4j-admin database backup`), and its resolution into the settings the backup uses: paths
 * resolved against the config file, defaults filled in, the mode/block pairing checked.
 * @module
 */
import path from 'node:path';
import { ConfigError } from '../../errors.ts';

/** The `enterprise:` block as the config schema (`src/config/source-schema.ts`) parses it. */
export interface Neo4jEnterpriseBlock {
  readonly from: readonly string[];
  readonly workDir: string;
  readonly type?: EnterpriseBackupType | undefined;
  readonly maxDifferentials?: number | undefined;
  readonly includeSystem?: boolean | undefined;
  readonly compress?: boolean | undefined;
  readonly includeMetadata?: 'none' | 'all' | 'users' | 'roles' | undefined;
  readonly pagecache?: string | undefined;
}

/** What kind of backup to take; `auto` takes a differential when a chain exists. */
export type EnterpriseBackupType = 'full' | 'diff' | 'auto';

/** Resolved settings of an enterprise source. */
export interface EnterpriseSettings {
  /** `host:port` backup addresses, tried in order (`--from`). */
  readonly from: readonly string[];
  /** Absolute folder for neo4j-admin's artifacts (one sub-folder per run, removed after). */
  readonly workDir: string;
  /** @default 'auto' */
  readonly type: EnterpriseBackupType;
  /**
   * `auto` takes a full once the chain holds this many differentials: a restore replays every
   * differential of its chain, so a bounded chain bounds the restore time. @default 6
   */
  readonly maxDifferentials: number;
  /** @default true */
  readonly includeSystem: boolean;
  /**
   * `--compress`. @default false: the repository compresses every chunk itself, and an
   * uncompressed full artifact holds the store's pages as they are, so unchanged pages of the
   * next full deduplicate; a compressed artifact changes almost entirely when a little changes.
   */
  readonly compress: boolean;
  readonly includeMetadata?: 'none' | 'all' | 'users' | 'roles';
  readonly pagecache?: string;
}

/**
 * Checks that `mode` and the `enterprise:` block go together and resolves the block.
 * @returns the settings for `mode: enterprise`, `undefined` for the other modes.
 * @throws ConfigError when `mode: enterprise` has no block, or the block sits under another mode.
 */
export function resolveEnterpriseSettings(
  mode: 'dump' | 'logical' | 'enterprise',
  block: Neo4jEnterpriseBlock | undefined,
  configFile: string,
  key: string,
): EnterpriseSettings | undefined {
  if (mode !== 'enterprise') {
    if (block !== undefined) {
      throw new ConfigError(
        `${configFile}: ${key}.enterprise: only used with mode: enterprise (mode is ${mode})`,
        { file: configFile, key: `${key}.enterprise` },
      );
    }
    return undefined;
  }
  if (block === undefined) {
    throw new ConfigError(
      `${configFile}: ${key}: mode: enterprise needs an enterprise: block with from (the ` +
        'server\'s backup address, e.g. ["127.0.0.1:6362"]) and workDir (a folder for ' +
        "neo4j-admin's backup artifacts)",
      { file: configFile, key: `${key}.enterprise` },
    );
  }
  return {
    from: [...block.from],
    workDir: path.resolve(path.dirname(configFile), block.workDir),
    type: block.type ?? 'auto',
    maxDifferentials: block.maxDifferentials ?? 6,
    includeSystem: block.includeSystem ?? true,
    compress: block.compress ?? false,
    ...(block.includeMetadata !== undefined ? { includeMetadata: block.includeMetadata } : {}),
    ...(block.pagecache !== undefined ? { pagecache: block.pagecache } : {}),
  };
}

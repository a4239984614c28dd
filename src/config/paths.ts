/**
 * Resolves the relative paths of a parsed config against the folder of the config file, so
 * `hbr --config /etc/hbr/hbr.yaml` means the same thing from any working directory.
 * @module
 */
import path from 'node:path';
import type { HbrConfig } from './schema.ts';

/**
 * A copy of `config` with every local path made absolute against `baseDir`: the repository's
 * and replicas' `path`, `passwordFile`, `keyFile` and `credentialFile`; files sources' `paths`; SQL Server and
 * Neo4j `credentialFile`; Neo4j `home`. Left alone: URLs, exclude globs, and SQL Server's
 * `stagingPath` (a path on the database server, which may be another machine).
 */
export function resolveConfigPaths(config: HbrConfig, baseDir: string): HbrConfig {
  const abs = (p: string): string => path.resolve(baseDir, p);
  const opt = (p: string | undefined): string | undefined => (p === undefined ? undefined : abs(p));
  const location = <
    T extends {
      path?: string | undefined;
      passwordFile?: string | undefined;
      keyFile?: string | undefined;
      credentialFile?: string | undefined;
    },
  >(
    value: T,
  ): T =>
    withDefined(value, {
      path: opt(value.path),
      passwordFile: opt(value.passwordFile),
      keyFile: opt(value.keyFile),
      credentialFile: opt(value.credentialFile),
    });

  return withDefined(config, {
    repository: config.repository && location(config.repository),
    replicas: config.replicas?.map(location),
    sources: config.sources?.map((source) => {
      switch (source.kind) {
        case 'files':
          return { ...source, files: { ...source.files, paths: source.files.paths.map(abs) } };
        case 'sqlserver':
          return {
            ...source,
            sqlserver: {
              ...source.sqlserver,
              credentialFile: abs(source.sqlserver.credentialFile),
            },
          };
        case 'neo4j':
          return {
            ...source,
            neo4j: withDefined(source.neo4j, {
              home: abs(source.neo4j.home),
              credentialFile: opt(source.neo4j.credentialFile),
            }),
          };
      }
    }),
  });
}

// --- internal ---

/** `{...base, ...changes}` without adding keys whose new value is `undefined`. */
function withDefined<T extends object>(base: T, changes: Record<string, unknown>): T {
  const result = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (value !== undefined) (result as Record<string, unknown>)[key] = value;
  }
  return result;
}

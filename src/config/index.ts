/**
 * The config file: its types, the repository URL schemes, durations, and the loader (loaded on
 * first use). Other folders import from here only.
 * @module
 */
import { ConfigError } from '../errors.ts';
import type { LoadConfigOptions } from './load.ts';
import type { HbrConfig } from './schema.ts';

export type { LoadConfigOptions } from './load.ts';

/**
 * Reads, parses and validates a config file (see `load.ts`). Its module is loaded on the first
 * call: with the YAML parser it is a third of the code a command would load before its first
 * step (20-25 ms of an unchanged re-backup), and most commands run without a config file.
 * @throws {ConfigError} as `load.ts`'s `loadConfig` does.
 */
export async function loadConfig(file: string, options?: LoadConfigOptions): Promise<HbrConfig> {
  return (await import('./load.ts')).loadConfig(file, options);
}
/**
 * A problem with a file the config names, found when the file is used (an unreadable
 * `credentialFile`): a ConfigError naming the config file, the line and the key, as a
 * validation error does (exit 78).
 */
export async function configFileError(
  configFile: string,
  keyPath: readonly PropertyKey[],
  problem: string,
  cause?: unknown,
): Promise<ConfigError> {
  const { locateInConfigFile } = await import('./load.ts');
  const { formatPath } = await import('./locate.ts');
  const position = await locateInConfigFile(configFile, keyPath);
  const where = position ? `${configFile}:${position.line}:${position.col}` : configFile;
  const key = formatPath(keyPath);
  return new ConfigError(`${where}: ${key}: ${problem}`, {
    file: configFile,
    ...(position ? { line: position.line } : {}),
    key,
    cause,
  });
}
export { REPOSITORY_URL_SCHEMES } from './common-schema.ts';
export type {
  HbrConfig,
  HbrConfigInput,
  RepositoryConfig,
  ReplicaConfig,
  SourceConfig,
  RetentionConfig,
} from './schema.ts';
export {
  addDuration,
  isDuration,
  parseDuration,
  subtractDuration,
  type DurationParts,
} from './duration.ts';

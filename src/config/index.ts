/**
 * The config file: its types, the repository URL schemes, durations, and the loader (loaded on
 * first use). Other folders import from here only.
 * @module
 */
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

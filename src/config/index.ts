/**
 * The config file: schema, types and loader. Other folders import from here only.
 * @module
 */
export { loadConfig, parseConfig, type LoadConfigOptions } from './load.ts';
export { configSchema } from './schema.ts';
export { REPOSITORY_URL_SCHEMES } from './common-schema.ts';
export type {
  HbrConfig,
  HbrConfigInput,
  RepositoryConfig,
  ReplicaConfig,
  SourceConfig,
  RetentionConfig,
} from './schema.ts';
export { isDuration, parseDuration, subtractDuration, type DurationParts } from './duration.ts';

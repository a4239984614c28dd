/**
 * The repository's `config` object: written once by `hbr init`, sealed under the metadata key,
 * never changed. It fixes what must stay stable for deduplication (the chunker's parameters).
 * @module
 */
import { z } from 'zod';
import { IntegrityError } from '../errors.ts';
import { parseJsonOrUndefined } from '../util/parse-json.ts';
import { openObject, sealObject, type RepositoryKeys } from './crypto.ts';

const ChunkerParamsSchema = z.object({
  min: z.number().int().positive(),
  avg: z.number().int().positive(),
  max: z.number().int().positive(),
});

export const RepoConfigSchema = z.object({
  version: z.literal(1),
  /** Random repository id (hex); replicas share it. */
  id: z.string(),
  created: z.string(),
  /** Chunking profiles by name (`db`, `model`). Frozen at init. */
  chunkers: z.record(z.string(), ChunkerParamsSchema),
  /** Target pack size in bytes for new packs (may differ per writer; readers don't care). */
  packSize: z.number().int().positive(),
  /** zstd level for new blobs; 0 stores raw. */
  compressionLevel: z.number().int().min(0).max(22),
});
export type RepoConfig = z.infer<typeof RepoConfigSchema>;

/** Seals the config for storage. */
export function encodeRepoConfig(keys: RepositoryKeys, config: RepoConfig): Buffer {
  return sealObject(keys, 'config', Buffer.from(JSON.stringify(config)));
}

/** Opens the stored config. @throws IntegrityError when damaged. */
export function decodeRepoConfig(keys: RepositoryKeys, bytes: Buffer): RepoConfig {
  const opened = openObject(keys, 'config', bytes, 'config');
  const parsed = RepoConfigSchema.safeParse(parseJsonOrUndefined(opened.toString('utf8')));
  if (!parsed.success) throw new IntegrityError('config: malformed');
  return parsed.data;
}

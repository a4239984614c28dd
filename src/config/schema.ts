/**
 * The schema of `hbr.yaml`: the single source of the config's types, defaults and messages.
 * Every object is strict (an unknown key is an error, so a typo never silently disables a
 * setting) and keys are camelCase. Secrets are never inline: only `…File` keys point at them.
 * @module
 */
import { z } from 'zod';
import { sourceSchema } from './source-schema.ts';
import {
  cronSchema,
  retentionSchema,
  locationFields,
  checkLocation,
  checkRetention,
} from './common-schema.ts';

export { sourceSchema, retentionSchema };

/** Where the repository lives and how to open it. */
export const repositorySchema = z
  .strictObject({
    ...locationFields,
    /** Target size of data packs in bytes, for `hbr init`. @default 16 MiB */
    packSize: z
      .int()
      .min(1024 * 1024, 'packSize is in bytes and must be at least 1 MiB (1048576)')
      .max(1024 * 1024 * 1024, 'packSize must be at most 1 GiB (1073741824)')
      .optional(),
    /** zstd level 1–22, or `off` to store blobs uncompressed, for `hbr init`. @default 1 */
    compression: z
      .union([z.int().min(1).max(22), z.literal('off')], {
        error: 'expected a zstd level from 1 to 22, or "off"',
      })
      .optional(),
  })
  .superRefine(checkLocation)
  .superRefine(checkRetention);

/** A copy of the repository kept elsewhere (another disk, region or cloud). */
export const replicaSchema = z
  .strictObject({
    name: z.string().min(1),
    ...locationFields,
    /** Copy new backups to this replica right after each backup. @default false */
    afterBackup: z.boolean().optional(),
  })
  .superRefine(checkLocation);

/**
 * A group of sources backed up together so their backups describe one moment. Its keys are
 * checked (a mistyped `source:` would leave a group of none); its `checks` are passed through
 * until the coordinated backup defines them.
 */
export const coordinatedSchema = z.strictObject({
  name: z.string().min(1),
  sources: z.array(z.string().min(1)).min(1),
  schedule: cronSchema.optional(),
  checks: z.array(z.record(z.string(), z.unknown())).optional(),
});

/** The whole of `hbr.yaml`. Parse with {@link loadConfig}, which adds file:line to messages. */
export const configSchema = z
  .strictObject({
    /** Format version of this file. @default 1 */
    version: z.literal(1).default(1),
    repository: repositorySchema.optional(),
    replicas: z.array(replicaSchema).optional(),
    sources: z.array(sourceSchema).optional(),
    coordinated: z.array(coordinatedSchema).optional(),
    /** Alert rules, passed through until the alerts module defines them. */
    alerts: z.array(z.record(z.string(), z.unknown())).optional(),
    /** Notification channels, passed through until the notify module defines them. */
    notify: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .superRefine((config, ctx) => {
    uniqueNames(config.sources, 'sources', 'source', ctx);
    uniqueNames(config.replicas, 'replicas', 'replica', ctx);
    const names = new Set((config.sources ?? []).map((s) => s.name));
    config.coordinated?.forEach((group, i) => {
      group.sources?.forEach((name, j) => {
        if (!names.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['coordinated', i, 'sources', j],
            message: `no source named "${name}" in sources`,
          });
        }
      });
    });
  });

/** A validated `hbr.yaml`, relative paths already resolved by {@link loadConfig}. */
export type HbrConfig = z.infer<typeof configSchema>;
/** What a config may contain before defaults and transforms (for building one in code). */
export type HbrConfigInput = z.input<typeof configSchema>;
/** The `repository:` block. */
export type RepositoryConfig = z.infer<typeof repositorySchema>;
/** One entry of `replicas:`. */
export type ReplicaConfig = z.infer<typeof replicaSchema>;
/** One entry of `sources:`, discriminated by `kind`. */
export type SourceConfig = z.infer<typeof sourceSchema>;
/** Keep rules of a source. */
export type RetentionConfig = z.infer<typeof retentionSchema>;

// --- internal ---

function uniqueNames(
  items: readonly { name: string }[] | undefined,
  key: string,
  what: string,
  ctx: z.RefinementCtx,
): void {
  const seen = new Map<string, number>();
  items?.forEach((item, i) => {
    const first = seen.get(item.name);
    if (first === undefined) {
      seen.set(item.name, i);
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: [key, i, 'name'],
      message: `duplicate ${what} name "${item.name}" (also ${key}[${first}])`,
    });
  });
}

/**
 * The `sources:` entries of `hbr.yaml`: what to back up (a file tree, a SQL Server database or
 * a Neo4j database), when, and how long to keep it.
 * @module
 */
import { z } from 'zod';
import { AD_HOC_SOURCE } from '../policy/backup-groups.ts';
import { cronSchema, fileSchema, retentionSchema } from './common-schema.ts';

/** A tree of files and folders. */
export const filesSourceSchema = z.strictObject({
  /** Folders or files to back up (relative to the config file's folder). */
  paths: z.array(fileSchema).min(1, 'list at least one path'),
  /** Glob patterns to leave out, as with `--exclude`. */
  exclude: z.array(z.string().min(1)).optional(),
});

/** A SQL Server database, backed up with native BACKUP DATABASE / BACKUP LOG. */
export const sqlServerSourceSchema = z.strictObject({
  server: z.string().min(1),
  /** @default 1433 */
  port: z.int().min(1).max(65535).optional(),
  database: z.string().min(1),
  /** File holding the login (user and password); never inline. */
  credentialFile: fileSchema,
  encrypt: z.boolean().optional(),
  trustServerCertificate: z.boolean().optional(),
  /** `url`: BACKUP TO URL streams to hbr; `disk`: SQL Server writes files to `stagingPath`. */
  transport: z.enum(['url', 'disk']).optional(),
  /** Folder SQL Server writes backup files to with `transport: disk`, as the server sees it. */
  stagingPath: z.string().min(1).optional(),
  /** Native backup compression (WITH COMPRESSION). */
  compression: z.boolean().optional(),
  /** WITH CHECKSUM. @default true */
  checksum: z.boolean().default(true),
  /** Native backup encryption with a server certificate. */
  encryption: z
    .strictObject({
      algorithm: z.enum(['AES_128', 'AES_192', 'AES_256', 'TRIPLE_DES_3KEY']),
      /** Name of the certificate in the server's master database. */
      certificate: z.string().min(1),
    })
    .optional(),
  /**
   * COPY_ONLY on full and log backups (they leave the differential base and the log chain of
   * another backup tool alone). A differential is taken as usual, with a warning: SQL Server has
   * no copy-only differential, and its base is the last conventional full.
   */
  copyOnly: z.boolean().optional(),
  /** Bytes per transfer, a multiple of 64 KiB up to 4 MiB. */
  maxTransferSize: z
    .int()
    .min(65536)
    .max(4194304)
    .refine((n) => n % 65536 === 0, 'must be a multiple of 65536 (64 KiB)')
    .optional(),
  bufferCount: z.int().min(1).optional(),
  /** Number of backup stripes (parallel streams). */
  stripes: z.int().min(1).max(64).optional(),
  /** RESTORE VERIFYONLY after each backup. @default true */
  verify: z.boolean().default(true),
  /** Named instance (`SQL1\\INST`), when no port is given. */
  instanceName: z.string().min(1).optional(),
  /** `stagingPath` as hbr sees it (a mount of the same folder). @default stagingPath */
  stagingLocalPath: fileSchema.optional(),
  /** `transport: url`: hbr's blob endpoint that BACKUP TO URL / RESTORE FROM URL reach. */
  url: z
    .strictObject({
      /** The base URL SQL Server uses, e.g. `https://hbrbackup.blob.core.windows.net` (hosts entry → hbr). */
      publicUrl: z.string().regex(/^https?:\/\/[^/?#]+\/?$/, 'expected https://host[:port]'),
      /** Container in blob URLs; the SQL credential is named `<publicUrl>/<container>`. @default hbr */
      container: z
        .string()
        .regex(/^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/, 'expected an Azure container name')
        .optional(),
      /** Address to listen on. @default 0.0.0.0 */
      listenHost: z.string().min(1).optional(),
      /** @default 443 */
      listenPort: z.int().min(0).max(65535).optional(),
      /** PEM certificate and key for HTTPS (SQL Server must trust the certificate). */
      certFile: fileSchema.optional(),
      keyFile: fileSchema.optional(),
      /** File holding the SAS token of the SQL credential's SECRET (its `sig` is checked). */
      sasFile: fileSchema,
    })
    .optional(),
  /** LOG → DIFF → FULL when the asked type is impossible (with a warning). @default true */
  promote: z.boolean().optional(),
  /** Import backups made outside hbr from msdb (last n days) with each backup. @default 30 */
  importHistoryDays: z.int().min(0).optional(),
  /** Checks after a restore. */
  checks: z
    .strictObject({
      /** DBCC CHECKDB. @default true */
      checkdb: z.boolean().optional(),
      physicalOnly: z.boolean().optional(),
      /** Critical tables to count (`schema.table`), with an optional minimum. */
      rowCounts: z
        .array(z.strictObject({ table: z.string().min(1), min: z.int().min(0).optional() }))
        .optional(),
      /** Queries that must run without error in the restored database (e.g. `SELECT dbo.fn_ProjectTo3D(1)`). */
      smokeQueries: z
        .array(z.strictObject({ name: z.string().min(1), sql: z.string().min(1) }))
        .optional(),
    })
    .optional(),
});

/** A Neo4j database. */
export const neo4jSourceSchema = z.strictObject({
  /** NEO4J_HOME of the server (relative to the config file's folder). */
  home: fileSchema,
  /** Bolt URL, e.g. `bolt://localhost:7687`. */
  bolt: z
    .string()
    .regex(
      /^(bolt|neo4j)(\+s|\+ssc)?:\/\/[^@]+$/,
      'expected a bolt:// or neo4j:// URL without credentials',
    ),
  database: z.string().min(1),
  credentialFile: fileSchema.optional(),
  /** `dump` (neo4j-admin, offline), `logical` (Cypher export, online), `enterprise` (online backup). */
  mode: z.enum(['dump', 'logical', 'enterprise']).optional(),
  /** Settings of `mode: enterprise` (online `neo4j-admin database backup`). */
  enterprise: z
    .strictObject({
      /** Backup listen addresses of the server (`server.backup.listen_address`), tried in order. */
      from: z
        .array(
          z
            .string()
            .regex(
              /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):([1-9][0-9]{0,4})$/,
              "expected host:port of the server's backup listener, e.g. 127.0.0.1:6362",
            ),
        )
        .min(1, 'list at least one backup address, e.g. 127.0.0.1:6362'),
      /** Folder where neo4j-admin writes its artifacts before hbr stores them (emptied after). */
      workDir: fileSchema,
      /** `auto`: differential when the repository holds a chain for the source, else full. @default auto */
      type: z.enum(['full', 'diff', 'auto']).optional(),
      /** `auto` takes a full once the chain holds this many differentials. @default 6 */
      maxDifferentials: z.int().min(0).optional(),
      /** Also back up `system` (users, roles, database metadata). @default true */
      includeSystem: z.boolean().optional(),
      /** neo4j-admin's own compression; off by default so unchanged store pages deduplicate. @default false */
      compress: z.boolean().optional(),
      /** `--include-metadata` (users and roles as Cypher in the artifact). */
      includeMetadata: z.enum(['none', 'all', 'users', 'roles']).optional(),
      /** `--pagecache` of the backup client, e.g. `512m`. */
      pagecache: z
        .string()
        .regex(/^[0-9]+[kKmMgG]?$/, 'expected a size such as 512m or 2g')
        .optional(),
    })
    .optional(),
  /** Shell command that stops the database before an offline dump. */
  stopCommand: z.string().min(1).optional(),
  /** Shell command that starts it again afterwards. */
  startCommand: z.string().min(1).optional(),
  /** The neo4j-admin executable. @default `<home>/bin/neo4j-admin` */
  adminCommand: fileSchema.optional(),
  /**
   * Dump mode: a folder where the compressed dumps wait while the server starts again (shorter
   * downtime; needs about a quarter of the store free). Without it, dumps stream into the
   * repository while the server is down, with no temp file.
   */
  spoolDir: fileSchema.optional(),
  /** Cypher checks run after a restore; `expect` (when given) must equal the first column of the first row. */
  checks: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        cypher: z.string().min(1),
        expect: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
      }),
    )
    .optional(),
});

/** When to take backups of each kind; each value is a cron expression. */
export const scheduleSchema = z.strictObject({
  full: cronSchema.optional(),
  diff: cronSchema.optional(),
  log: cronSchema.optional(),
  snapshot: cronSchema.optional(),
});

const KINDS = ['files', 'sqlserver', 'neo4j'] as const;

const rawSourceSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-" (no spaces)')
    // Backups of paths given on the command line carry this name: a source of the same name
    // would take them over (its retention would prune them).
    .refine((name) => name !== AD_HOC_SOURCE, {
      message: `"${AD_HOC_SOURCE}" is reserved for backups of paths given on the command line (hbr backup PATH); choose another name`,
    }),
  files: filesSourceSchema.optional(),
  sqlserver: sqlServerSourceSchema.optional(),
  neo4j: neo4jSourceSchema.optional(),
  schedule: scheduleSchema.optional(),
  retention: retentionSchema.optional(),
});

type RawSource = z.infer<typeof rawSourceSchema>;
type Common = Pick<RawSource, 'name' | 'schedule' | 'retention'>;

/**
 * One source. Exactly one of `files`, `sqlserver`, `neo4j`; the parsed value carries a `kind`
 * so code can switch on it.
 */
export const sourceSchema = rawSourceSchema
  .superRefine((source, ctx) => {
    const present = KINDS.filter((kind) => source[kind] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: present.length > 1 ? [present[1] as string] : [],
        message:
          present.length === 0
            ? `needs one of ${KINDS.join(', ')}`
            : `give exactly one of ${KINDS.join(', ')} (found ${present.join(' and ')})`,
      });
      return;
    }
    // File trees have one kind of backup (a snapshot); databases have full/diff/log.
    const schedule = source.schedule ?? {};
    const wrong =
      present[0] === 'files'
        ? (['full', 'diff', 'log'] as const).filter((k) => schedule[k] !== undefined)
        : schedule.snapshot !== undefined
          ? (['snapshot'] as const)
          : [];
    for (const key of wrong) {
      ctx.addIssue({
        code: 'custom',
        path: ['schedule', key],
        message:
          present[0] === 'files'
            ? `a files source is scheduled with "snapshot", not "${key}"`
            : `a database source is scheduled with full, diff or log, not "snapshot"`,
      });
    }
  })
  .transform((source) => toTagged(source));

// --- internal ---

type Tagged =
  | (Common & { kind: 'files'; files: NonNullable<RawSource['files']> })
  | (Common & { kind: 'sqlserver'; sqlserver: NonNullable<RawSource['sqlserver']> })
  | (Common & { kind: 'neo4j'; neo4j: NonNullable<RawSource['neo4j']> });

function toTagged(source: RawSource): Tagged {
  const { name, schedule, retention } = source;
  const common: Common = { name };
  if (schedule !== undefined) common.schedule = schedule;
  if (retention !== undefined) common.retention = retention;
  // superRefine guaranteed exactly one of the three.
  if (source.files) return { ...common, kind: 'files', files: source.files };
  if (source.sqlserver) return { ...common, kind: 'sqlserver', sqlserver: source.sqlserver };
  return { ...common, kind: 'neo4j', neo4j: source.neo4j as NonNullable<RawSource['neo4j']> };
}

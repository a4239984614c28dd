/**
 * Pieces shared by several parts of the config schema: file references, locations,
 * durations, cron expressions and keep rules.
 * @module
 */
import { z } from 'zod';
import { locationHoldsRetention, parseLocation as parseStoreLocation } from '../stores/location.ts';
import { isDuration } from './duration.ts';

/** URL schemes a repository or replica `url:` may use. */
export const REPOSITORY_URL_SCHEMES = ['azure', 's3', 'file'] as const;

/** A path to a file or folder; relative paths are resolved against the config file's folder. */
export const fileSchema = z
  .string()
  .min(1, 'expected a path, got an empty string')
  // A shell expands ~, YAML does not: it would be a folder named "~" beside the config.
  .refine((text) => !/^~($|\/)/.test(text), 'write the full path: ~ is not expanded here');

/**
 * A duration such as `7d`, `12h`, `1y6mo` or `90m`: one or more number+unit pairs with units
 * `y` (year), `mo` (month), `w`, `d`, `h`, `m` (minute), `s`.
 */
export const durationSchema = z
  .string()
  .refine(isDuration, 'expected a duration such as 7d, 12h or 1y6mo (units y, mo, w, d, h, m, s)');

/**
 * A cron expression: 5 fields (minute hour day month weekday), 6 with seconds first, or a
 * nickname such as `@daily`. Only the shape is checked here; the scheduler parses it fully.
 */
export const cronSchema = z
  .string()
  .refine(
    (text) =>
      /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(text.trim()) ||
      [5, 6].includes(text.trim().split(/\s+/).length),
    'expected a cron expression with 5 fields ("0 2 * * *") or a nickname such as @daily',
  );

/** Keep rules applied by `hbr forget` to a source's backups (like restic's --keep-*). */
export const retentionSchema = z.strictObject({
  /** Keep the newest N backups. */
  keepLast: z.int().min(0).optional(),
  keepHourly: z.int().min(0).optional(),
  keepDaily: z.int().min(0).optional(),
  keepWeekly: z.int().min(0).optional(),
  keepMonthly: z.int().min(0).optional(),
  keepYearly: z.int().min(0).optional(),
  /** Keep every backup younger than this duration, e.g. `7d`. */
  keepWithin: durationSchema.optional(),
});

/** Fields of a place a repository can live: a local `path` or a `url`, plus its credential. */
export const locationFields = {
  /** A local folder (relative to the config file's folder). */
  path: fileSchema.optional(),
  /** A remote location such as `azure://account/container/prefix` or `s3://bucket/prefix`. */
  url: z.string().min(1).optional(),
  /** File holding the repository password (first line, trailing newline ignored). */
  passwordFile: fileSchema.optional(),
  /** Key file to open the repository with instead of a password. */
  keyFile: fileSchema.optional(),
  /**
   * File holding the store's credential (Azure connection string, SAS or account key; S3
   * `KEY=VALUE` lines or an AWS credentials file), so a replica can use its own account.
   * @default the store's environment variables
   */
  credentialFile: fileSchema.optional(),
  /**
   * Keep every object hbr writes undeletable for this long, where the store supports object
   * retention (S3 Object Lock, Azure immutability); `hbr maintain` extends it for kept backups.
   */
  retainFor: durationSchema.optional(),
};

/** Checks a location: exactly one of path/url, at most one credential, a known URL scheme. */
export function checkLocation(
  value: {
    path?: string | undefined;
    url?: string | undefined;
    passwordFile?: string | undefined;
    keyFile?: string | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  if (value.path === undefined && value.url === undefined) {
    ctx.addIssue({ code: 'custom', path: [], message: 'needs either path or url' });
  }
  if (value.path !== undefined && value.url !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: 'give either path or url, not both' });
  }
  if (value.passwordFile !== undefined && value.keyFile !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['keyFile'],
      message: 'give either passwordFile or keyFile, not both',
    });
  }
  if (value.url !== undefined) {
    const match = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)/i.exec(value.url);
    const scheme = match?.[1]?.toLowerCase();
    if (!scheme || !(REPOSITORY_URL_SCHEMES as readonly string[]).includes(scheme)) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `expected a URL starting with ${REPOSITORY_URL_SCHEMES.map((s) => `${s}://`).join(', ')}`,
      });
    } else if (match?.[2]?.includes('@')) {
      // A user:secret@ part would put a credential in the config and in every log line.
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          "credentials are never written in the URL; use passwordFile or the store's environment variables",
      });
    } else if (value.path === undefined) {
      // The store's own parse (parameters, names, secrets in the query), here so that a bad
      // url: is a config error naming its line, not a usage error when the store opens.
      const problem = _storeLocationProblem(value.url);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: problem });
    }
  }
}

/**
 * Refuses `retainFor` on a repository whose store cannot hold object retention (a local
 * folder, Azure without `immutability=`, S3 without `objectLock=`): there it would be dropped
 * without a word, and backups believed immutable would not be. (A replica's `retainFor` is
 * refused by `hbr replicate` when it runs, as the README says.)
 */
export function checkRetention(
  value: { path?: string | undefined; url?: string | undefined; retainFor?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (value.retainFor === undefined) return;
  let holds = false;
  if (value.url !== undefined) {
    try {
      holds = locationHoldsRetention(parseStoreLocation(value.url));
    } catch {
      return; // a bad url: is reported by checkLocation
    }
  }
  if (!holds)
    ctx.addIssue({
      code: 'custom',
      path: ['retainFor'],
      message:
        'the store does not support object retention (S3 Object Lock or Azure version-level immutability, enabled in the location URL: s3://…?objectLock=GOVERNANCE|COMPLIANCE, azure://…?immutability=Unlocked|Locked), so retainFor cannot be applied; remove it or enable retention',
    });
}

// --- internal ---

function _storeLocationProblem(url: string): string | undefined {
  try {
    parseStoreLocation(url);
    return undefined;
  } catch (error) {
    // UsageErrors, and the TypeError of a file: URL naming a host.
    return (error instanceof Error ? error.message : String(error)).replace(/^\[store\] /, '');
  }
}

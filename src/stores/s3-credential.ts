/**
 * Finding S3 credentials for a repository location: only from environment variables or files,
 * never from the location URL or a command-line argument.
 * @module
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import type { S3Credentials } from './s3.ts';

/** Inputs of {@link resolveS3Credentials}. */
export interface S3CredentialSource {
  /** Environment variables (pass `process.env` at the edge, a literal object in tests). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A file with `AWS_ACCESS_KEY_ID=…` / `AWS_SECRET_ACCESS_KEY=…` lines, or an AWS shared
   *  credentials file (`aws_access_key_id = …`); its first profile is used. */
  readonly credentialFile?: string | undefined;
  /** Reads a file as UTF-8. @default node:fs/promises readFile */
  readonly readFile?: (path: string) => Promise<string>;
}

/**
 * Picks static credentials: `credentialFile`, then `HBR_S3_CREDENTIAL_FILE`, then
 * `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`). Returns `undefined`
 * when none are set, leaving the AWS SDK's own chain (profiles, SSO, instance roles) to find them.
 * @throws UsageError when a file cannot be read or lacks a key id or secret.
 */
export async function resolveS3Credentials(
  source: S3CredentialSource,
): Promise<S3Credentials | undefined> {
  const { env } = source;
  const file = source.credentialFile ?? (env.HBR_S3_CREDENTIAL_FILE?.trim() || undefined);
  if (file !== undefined) {
    const read = source.readFile ?? ((path: string) => fsReadFile(path, 'utf8'));
    let text: string;
    try {
      text = await read(file);
    } catch (error) {
      throw new UsageError(
        `[store:s3] cannot read credential file ${file}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    // Every field from the first profile only: a later profile's session token or secret must
    // never be paired with the first profile's key.
    const profile = _firstProfile(text);
    const field = (name: string): string | undefined =>
      new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=\\s*['"]?([^'"\\s]+)`, 'im').exec(profile)?.[1];
    const accessKeyId = field('aws_access_key_id');
    const secretAccessKey = field('aws_secret_access_key');
    if (!accessKeyId || !secretAccessKey) {
      throw new UsageError(
        `[store:s3] credential file ${file} lacks aws_access_key_id or aws_secret_access_key (in its first profile, if it has [profile] sections)`,
      );
    }
    return { accessKeyId, secretAccessKey, sessionToken: field('aws_session_token') };
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  if (accessKeyId && secretAccessKey) {
    return {
      accessKeyId,
      secretAccessKey,
      sessionToken: env.AWS_SESSION_TOKEN?.trim() || undefined,
    };
  }
  if (accessKeyId || secretAccessKey) {
    throw new UsageError(
      '[store:s3] set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither',
    );
  }
  return undefined;
}

// --- internal ---

/** The text up to a file's second `[section]` header: the whole of a file without sections. */
function _firstProfile(text: string): string {
  const lines: string[] = [];
  let sections = 0;
  for (const line of text.split('\n')) {
    if (/^\s*\[[^\]]*\]\s*$/.test(line) && ++sections > 1) break;
    lines.push(line);
  }
  return lines.join('\n');
}

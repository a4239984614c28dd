/**
 * Finding the Azure Storage credential for a repository location: only from environment
 * variables or files, never from the location URL or a command-line argument.
 * @module
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import { UsageError } from '../errors.ts';

/** A credential for one storage account. */
export type AzureCredential =
  /** A full connection string; its `BlobEndpoint`, when present, is the service URL. */
  | { readonly kind: 'connection-string'; readonly connectionString: string }
  /** The account's shared key (full rights, including delete). */
  | { readonly kind: 'shared-key'; readonly accountKey: string }
  /** A SAS token (without the leading `?`); its permissions decide what hbr may do. */
  | { readonly kind: 'sas'; readonly token: string };

/** Inputs of {@link resolveAzureCredential}. */
export interface AzureCredentialSource {
  /** The storage account the location names. */
  readonly account: string;
  /** Environment variables (pass `process.env` at the edge, a literal object in tests). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A file holding a connection string, SAS token or account key (e.g. from hbr.yaml). */
  readonly credentialFile?: string | undefined;
  /** Reads a file as UTF-8. @default node:fs/promises readFile */
  readonly readFile?: (path: string) => Promise<string>;
}

/** The environment variables {@link resolveAzureCredential} reads, in order of precedence. */
export const AZURE_CREDENTIAL_ENV = [
  'HBR_AZURE_CREDENTIAL_FILE',
  'HBR_AZURE_SAS_FILE',
  'AZURE_STORAGE_SAS_TOKEN',
  'AZURE_STORAGE_CONNECTION_STRING',
  'AZURE_STORAGE_KEY',
] as const;

/**
 * Picks the credential: `credentialFile`, then `HBR_AZURE_CREDENTIAL_FILE` (either holds a
 * connection string, a SAS token or an account key, recognised by its shape), then a SAS from
 * `HBR_AZURE_SAS_FILE` or `AZURE_STORAGE_SAS_TOKEN`, then `AZURE_STORAGE_CONNECTION_STRING`,
 * then `AZURE_STORAGE_KEY` (with `AZURE_STORAGE_ACCOUNT`, when set, naming the same account).
 * @throws UsageError when none is set, a file cannot be read or holds something unrecognisable,
 *   or a connection string (from a file or a variable) or the variables name a different account
 *   than the location.
 */
export async function resolveAzureCredential(
  source: AzureCredentialSource,
): Promise<AzureCredential> {
  const { env, account } = source;
  const read = source.readFile ?? ((path: string) => fsReadFile(path, 'utf8'));
  const fromFile = async (path: string, what: string): Promise<string> => {
    try {
      return (await read(path)).trim();
    } catch (error) {
      throw new UsageError(
        `[store:azure] cannot read ${what} ${path}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  };

  const file = source.credentialFile ?? _nonEmpty(env.HBR_AZURE_CREDENTIAL_FILE);
  if (file !== undefined) {
    const credential = parseAzureCredential(await fromFile(file, 'credential file'), file);
    // A connection string names its account, so a file meant for another repository (say the
    // primary's, given to a replica) would silently send the data to that account.
    if (credential.kind === 'connection-string')
      _sameAccount(account, _accountOf(credential.connectionString), `credential file ${file}`);
    return credential;
  }
  const sasFile = _nonEmpty(env.HBR_AZURE_SAS_FILE);
  if (sasFile !== undefined) return _sas(await fromFile(sasFile, 'SAS file'), sasFile);
  const sas = _nonEmpty(env.AZURE_STORAGE_SAS_TOKEN);
  if (sas !== undefined) return _sas(sas, 'AZURE_STORAGE_SAS_TOKEN');
  const connectionString = _nonEmpty(env.AZURE_STORAGE_CONNECTION_STRING);
  if (connectionString !== undefined) {
    _sameAccount(account, _accountOf(connectionString), 'AZURE_STORAGE_CONNECTION_STRING');
    return { kind: 'connection-string', connectionString };
  }
  const key = _nonEmpty(env.AZURE_STORAGE_KEY);
  if (key !== undefined) {
    _sameAccount(account, _nonEmpty(env.AZURE_STORAGE_ACCOUNT), 'AZURE_STORAGE_ACCOUNT');
    return { kind: 'shared-key', accountKey: key };
  }
  throw new UsageError(
    `[store:azure:${account}] no credential: set one of ${AZURE_CREDENTIAL_ENV.join(', ')} ` +
      '(AZURE_STORAGE_KEY with AZURE_STORAGE_ACCOUNT), or give a credential file',
  );
}

/**
 * Recognises what a credential file holds: a connection string (`AccountName=…;…`), a SAS token
 * (`sv=…&sig=…`, optionally with a leading `?`) or a base64 account key.
 * @throws UsageError when the text is none of these; the message never echoes the secret.
 */
export function parseAzureCredential(text: string, origin: string): AzureCredential {
  const value = text.trim();
  if (/(?:^|;)\s*(AccountName|BlobEndpoint|SharedAccessSignature)=/i.test(value)) {
    return { kind: 'connection-string', connectionString: value };
  }
  if (/(?:^|[?&])sig=/.test(value)) return _sas(value, origin);
  if (/^[A-Za-z0-9+/]{20,}={0,2}$/.test(value)) return { kind: 'shared-key', accountKey: value };
  throw new UsageError(
    `[store:azure] ${origin} holds neither a connection string, a SAS token nor an account key`,
  );
}

// --- internal ---

function _nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function _sas(token: string, origin: string): AzureCredential {
  const clean = token.trim().replace(/^\?/, '');
  if (!/(?:^|&)sig=/.test(clean)) {
    throw new UsageError(`[store:azure] ${origin} is not a SAS token (no sig= parameter)`);
  }
  return { kind: 'sas', token: clean };
}

/**
 * The account a connection string is for: its AccountName, else the account in its BlobEndpoint
 * (`https://ACCOUNT.blob.…`, or an emulator's `http://HOST:PORT/ACCOUNT`); undefined when it
 * names none (a custom domain).
 */
function _accountOf(connectionString: string): string | undefined {
  const field = (name: string): string | undefined =>
    _nonEmpty(new RegExp(`(?:^|;)\\s*${name}=([^;]*)`, 'i').exec(connectionString)?.[1]);
  const named = field('AccountName');
  if (named !== undefined) return named;
  let endpoint: URL;
  try {
    endpoint = new URL(field('BlobEndpoint') ?? '');
  } catch {
    return undefined;
  }
  return (
    /^([a-z0-9]+)\.blob\./i.exec(endpoint.hostname)?.[1] ??
    (/^[\d.]+$|^\[|^localhost$/i.test(endpoint.hostname)
      ? endpoint.pathname.split('/').find(Boolean)
      : undefined)
  );
}

function _sameAccount(account: string, named: string | undefined, origin: string): void {
  if (named !== undefined && named !== account) {
    throw new UsageError(
      `[store:azure:${account}] ${origin} is for account ${named}, not ${account}`,
    );
  }
}

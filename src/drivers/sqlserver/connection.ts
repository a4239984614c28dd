/**
 * How hbr connects to SQL Server: options, the `mssql://` URL form (used by `HBR_TEST_MSSQL_URL`),
 * and credentials from a file or the environment. Pure; the driver is in `executor.ts`.
 * @module
 */
import { ConfigError } from '../../errors.ts';

/** Connection settings for one SQL Server instance. */
export interface SqlServerConnectionOptions {
  readonly server: string;
  /** @default 1433 */
  readonly port?: number;
  /** Named instance (`SQL1\INST`), resolved through the SQL Browser when no port is given. */
  readonly instanceName?: string;
  readonly user: string;
  readonly password: string;
  /** Always `master` for BACKUP/RESTORE (a session inside the target would block exclusive access). */
  readonly database?: string;
  /** TLS. @default true */
  readonly encrypt?: boolean;
  /** Accept a self-signed server certificate (test servers only). @default false */
  readonly trustServerCertificate?: boolean;
  /** @default 30000 */
  readonly connectTimeoutMs?: number;
}

/**
 * Parses `mssql://user:password@host[:port][/instance]?encrypt=true&trustServerCertificate=true`
 * (`sqlserver://` is accepted too; user and password are URL-decoded).
 * @throws ConfigError when the URL is malformed or lacks a user or password.
 */
export function parseConnectionUrl(text: string): SqlServerConnectionOptions {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new ConfigError('[sqlserver] not a connection URL (mssql://user:password@host:port)', {
      cause: error,
    });
  }
  if (url.protocol !== 'mssql:' && url.protocol !== 'sqlserver:') {
    throw new ConfigError(
      `[sqlserver] connection URL must start with mssql:// (got ${url.protocol}//)`,
    );
  }
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  if (!user || !password || !url.hostname) {
    throw new ConfigError('[sqlserver] connection URL needs a user, a password and a host');
  }
  const flag = (name: string, fallback: boolean): boolean => {
    const value = url.searchParams.get(name);
    return value === null ? fallback : /^(1|true|yes)$/i.test(value);
  };
  const instance = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    server: url.hostname.replace(/^\[|\]$/g, ''),
    ...(url.port ? { port: Number(url.port) } : {}),
    ...(instance ? { instanceName: instance } : {}),
    user,
    password,
    encrypt: flag('encrypt', true),
    trustServerCertificate: flag('trustServerCertificate', false),
  };
}

/**
 * Reads SQL credentials from a credential file (JSON `{"user","password"}`, or `user` and
 * `password` on the first two lines), else from `HBR_SQLSERVER_USER` / `HBR_SQLSERVER_PASSWORD`.
 * @throws ConfigError when neither source has both values.
 */
export function parseCredentials(
  fileText: string | undefined,
  env: NodeJS.ProcessEnv,
  fileName = 'credential file',
): { user: string; password: string } {
  if (fileText !== undefined) {
    const text = fileText.trim();
    if (text.startsWith('{')) {
      const data = JSON.parse(text) as { user?: unknown; password?: unknown };
      if (typeof data.user === 'string' && typeof data.password === 'string') {
        return { user: data.user, password: data.password };
      }
    } else {
      const [user, password] = text.split(/\r?\n/);
      if (user && password !== undefined) return { user: user.trim(), password };
    }
    throw new ConfigError(`[sqlserver] ${fileName} must hold a user and a password`, {
      file: fileName,
    });
  }
  const user = env.HBR_SQLSERVER_USER;
  const password = env.HBR_SQLSERVER_PASSWORD;
  if (user && password) return { user, password };
  throw new ConfigError(
    '[sqlserver] no credentials: set credentialFile or HBR_SQLSERVER_USER and HBR_SQLSERVER_PASSWORD',
  );
}

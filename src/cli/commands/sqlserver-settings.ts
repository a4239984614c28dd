/**
 * From a `sqlserver:` source of the config to what the SQL Server driver takes: connection options
 * (credentials from the credential file, else `HBR_SQLSERVER_USER`/`HBR_SQLSERVER_PASSWORD`), the
 * transport (endpoint certificate, key and SAS token read from their files) and backup settings.
 * @module
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HbrConfig, SourceConfig } from '../../config/index.ts';
import type {
  SqlServerSourceSettings,
  SqlServerTransport,
} from '../../drivers/sqlserver/backup-source.ts';
import {
  parseCredentials,
  type SqlServerConnectionOptions,
} from '../../drivers/sqlserver/connection.ts';
import type { PostRestoreChecks } from '../../drivers/sqlserver/restore-checks.ts';
import { signatureOf } from '../../drivers/sqlserver/url-transport.ts';
import { ConfigError } from '../../errors.ts';
import type { CliContext, GlobalOptions } from '../context.ts';
import { requireConfig, resolveConfigFile } from '../resolve.ts';

/** A `sqlserver:` source of the config. */
export type SqlServerSourceConfig = Extract<SourceConfig, { kind: 'sqlserver' }>;

/** Everything a SQL Server command needs about one source. */
export interface ResolvedSqlServerSource {
  readonly connection: SqlServerConnectionOptions;
  readonly settings: SqlServerSourceSettings;
  readonly checks: PostRestoreChecks;
}

/** The `sqlserver:` source called `name`, or `undefined` when it is missing or another kind. */
export function findSqlServerSource(
  config: HbrConfig,
  name: string,
): SqlServerSourceConfig | undefined {
  const found = config.sources?.find((s) => s.name === name);
  return found?.kind === 'sqlserver' ? found : undefined;
}

/**
 * Reads the files a source names and builds the driver's inputs.
 * @throws ConfigError naming the config file and key when a file is unreadable or the transport
 * is incomplete.
 */
export async function resolveSqlServerSource(
  source: SqlServerSourceConfig,
  configFile: string,
  env: NodeJS.ProcessEnv,
): Promise<ResolvedSqlServerSource> {
  const s = source.sqlserver;
  const base = path.dirname(configFile);
  const read = async (file: string, key: string): Promise<Buffer> => {
    try {
      return await readFile(path.resolve(base, file));
    } catch (error) {
      throw new ConfigError(
        `${configFile}: sources.${source.name}.sqlserver.${key}: cannot read ${file}: ${(error as Error).message}`,
        { file: configFile, key: `sources.${source.name}.sqlserver.${key}`, cause: error },
      );
    }
  };
  const credentialText = (await read(s.credentialFile, 'credentialFile')).toString('utf8');
  const { user, password } = parseCredentials(credentialText, env, s.credentialFile);
  const connection: SqlServerConnectionOptions = {
    server: s.server,
    ...(s.port !== undefined ? { port: s.port } : {}),
    ...(s.instanceName !== undefined ? { instanceName: s.instanceName } : {}),
    user,
    password,
    ...(s.encrypt !== undefined ? { encrypt: s.encrypt } : {}),
    ...(s.trustServerCertificate !== undefined
      ? { trustServerCertificate: s.trustServerCertificate }
      : {}),
  };
  const missing = (key: string, why: string): never => {
    throw new ConfigError(`${configFile}: sources.${source.name}.sqlserver.${key}: ${why}`, {
      file: configFile,
      key: `sources.${source.name}.sqlserver.${key}`,
    });
  };
  let transport: SqlServerTransport;
  if ((s.transport ?? 'url') === 'disk') {
    const serverPath = s.stagingPath ?? missing('stagingPath', 'transport: disk needs stagingPath');
    const local = s.stagingLocalPath ?? serverPath;
    transport = { kind: 'disk', staging: { serverPath, localPath: path.resolve(base, local) } };
  } else {
    const u =
      s.url ??
      missing('url', 'transport: url needs url: { publicUrl, sasFile, certFile, keyFile }');
    const sas = (await read(u.sasFile, 'url.sasFile')).toString('utf8');
    const tls =
      u.certFile !== undefined && u.keyFile !== undefined
        ? {
            cert: await read(u.certFile, 'url.certFile'),
            key: await read(u.keyFile, 'url.keyFile'),
          }
        : undefined;
    transport = {
      kind: 'url',
      url: {
        publicUrl: u.publicUrl,
        ...(u.container !== undefined ? { container: u.container } : {}),
        signature: signatureOf(sas, u.sasFile),
        host: u.listenHost ?? '0.0.0.0',
        port: u.listenPort ?? 443,
        ...(tls ? { tls } : {}),
      },
    };
  }
  const settings: SqlServerSourceSettings = {
    source: source.name,
    database: s.database,
    transport,
    backup: {
      checksum: s.checksum,
      ...(s.compression !== undefined ? { compression: s.compression } : {}),
      ...(s.encryption
        ? {
            encryption: {
              algorithm: s.encryption.algorithm,
              serverCertificate: s.encryption.certificate,
            },
          }
        : {}),
      ...(s.copyOnly !== undefined ? { copyOnly: s.copyOnly } : {}),
      ...(s.maxTransferSize !== undefined ? { maxTransferSize: s.maxTransferSize } : {}),
      ...(s.bufferCount !== undefined ? { bufferCount: s.bufferCount } : {}),
    },
    ...(s.stripes !== undefined ? { stripes: s.stripes } : {}),
    verify: s.verify,
    ...(s.promote !== undefined ? { promote: s.promote } : {}),
    ...(s.importHistoryDays !== undefined ? { importHistoryDays: s.importHistoryDays } : {}),
  };
  return { connection, settings, checks: s.checks ?? {} };
}

/**
 * The `sqlserver:` source `name` of the config the flags name, or `undefined` when there is no
 * config or the source is another kind (the caller goes on with its own path).
 * @throws ConfigError when the config file is invalid.
 */
export async function sqlServerSourceNamed(
  ctx: CliContext,
  globals: GlobalOptions,
  name: string,
): Promise<{ source: SqlServerSourceConfig; file: string } | undefined> {
  const found = await resolveConfigFile({ env: ctx.env, cwd: ctx.cwd, flag: globals.config });
  if (!found) return undefined;
  const { config, file } = await requireConfig({
    env: ctx.env,
    cwd: ctx.cwd,
    flag: globals.config,
  });
  const source = findSqlServerSource(config, name);
  return source ? { source, file } : undefined;
}

/**
 * The URL transport: hbr's blob endpoint receives `BACKUP … TO URL` block by block straight into a
 * backup session (no .bak file anywhere), and serves committed backups to `RESTORE … FROM URL`.
 *
 * SQL Server side (once per server): a certificate for the endpoint's host name that the server
 * trusts, a hosts entry sending that name to hbr, and
 * `CREATE CREDENTIAL [https://<host>/<container>] WITH IDENTITY = 'SHARED ACCESS SIGNATURE',
 * SECRET = '<the SAS token in sasFile, without the leading ?>'`. hbr accepts only requests that
 * carry the token's `sig`.
 * @module
 */
import { SourceError, UsageError } from '../../errors.ts';
import type { OpenRepository, RepositorySession } from '../../repository/index.ts';
import type { ArtifactInfo } from '../../repository/types.ts';
import type { BackupSetRecord } from './backup-set.ts';
import { createBlobTable, startBlobEndpoint, type BlobTable } from './blob-endpoint/index.ts';
import { backupFileNames } from './backup-names.ts';
import type { BackupDevice } from './device.ts';
import type { ExecOptions, SqlExecutor } from './executor.ts';
import { metaFromHeader, type SqlServerBackupMeta } from './manifest-meta.ts';
import { readFileList, runBackup, verifyBackup, type ServerInfo } from './operations.ts';
import type { BackupOptions } from './tsql-backup.ts';

/** Where the endpoint listens and how SQL Server reaches it. */
export interface UrlTransport {
  /** Base URL SQL Server uses (`https://hbrbackup.blob.core.windows.net`). @default the endpoint's own URL */
  readonly publicUrl?: string;
  /** @default 'hbr' */
  readonly container?: string;
  /** The SAS `sig` every request must carry (decoded). */
  readonly signature: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 */
  readonly port?: number;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

/** What to back up. */
export interface UrlBackupRequest extends Omit<BackupOptions, 'devices'> {
  /** @default 1 */
  readonly stripes?: number;
  /** @default true */
  readonly verify?: boolean;
}

/**
 * Runs one backup through the endpoint into `session` and adds its stripes as artifacts.
 * @throws SourceError when BACKUP, VERIFYONLY or the header read fails; StoreError from the
 * repository. The endpoint is closed in every case.
 */
export async function backupViaUrl(
  exec: SqlExecutor,
  info: ServerInfo,
  session: RepositorySession,
  repo: OpenRepository,
  transport: UrlTransport,
  request: UrlBackupRequest,
  opts: ExecOptions & { now?: Date } = {},
): Promise<{ meta: SqlServerBackupMeta; artifacts: ArtifactInfo[] }> {
  const table = createBlobTable({ session, repo });
  const names = backupFileNames(
    request.database,
    request.type,
    request.stripes ?? 1,
    opts.now ?? new Date(),
  );
  return withEndpoint(table, transport, opts.signal, async (devicesFor) => {
    const devices = devicesFor(names);
    const header = await runBackup(exec, info, { ...request, devices }, opts);
    const verified = request.verify === false ? null : true;
    if (verified) await verifyBackup(exec, devices, header, opts);
    const files = await readFileList(exec, info, devices, header.record.position, opts);
    const blobs = new Map(table.committed(containerOf(transport)).map((b) => [b.name, b]));
    const artifacts = names.map((name) => {
      const blob = blobs.get(name);
      if (!blob) throw new UsageError(`[sqlserver:url] BACKUP TO URL left no blob ${name}`);
      return session.addStoredArtifact(name, blob);
    });
    return { meta: metaFromHeader(header, files, names, verified), artifacts };
  });
}

/**
 * Serves the artifacts of `steps` for `RESTORE … FROM URL` while `run` executes, then closes.
 * Steps without a backup id (taken outside hbr) are read from their recorded paths.
 */
export async function serveForRestore<T>(
  repo: OpenRepository,
  steps: readonly { backupId: string | null; record: BackupSetRecord }[],
  transport: UrlTransport,
  signal: AbortSignal | undefined,
  run: (deviceFor: (path: string, step: BackupSetRecord) => BackupDevice) => Promise<T>,
): Promise<T> {
  const container = containerOf(transport);
  const published = new Map<string, { backupId: string; artifact: string }>();
  const names = new Map<string, string>();
  for (const { backupId, record } of steps) {
    if (backupId === null) continue;
    for (const artifact of record.files) {
      const name = `${backupId.slice(0, 16)}-${artifact}`;
      published.set(`${container}/${name}`, { backupId, artifact });
      names.set(`${record.backupSetGuid}\n${artifact}`, name);
    }
  }
  const table = createBlobTable({ repo, published });
  return withEndpoint(table, transport, signal, (devicesFor) =>
    run((path, step) => {
      const name = names.get(`${step.backupSetGuid}\n${path}`);
      return name === undefined
        ? { kind: /^(https?|s3):\/\//i.test(path) ? 'url' : 'disk', path }
        : devicesFor([name])[0]!;
    }),
  );
}

/** The `sig` of a SAS token (`sv=…&sig=…`, with or without a leading `?`), decoded. @throws UsageError */
export function signatureOf(sasToken: string, label: string): string {
  const sig = new URLSearchParams(sasToken.trim().replace(/^\?/, '')).get('sig');
  if (!sig) throw new UsageError(`[sqlserver:url] ${label}: the SAS token has no sig=`);
  return sig;
}

// --- internal ---

function containerOf(t: UrlTransport): string {
  return t.container ?? 'hbr';
}

async function withEndpoint<T>(
  table: BlobTable,
  transport: UrlTransport,
  signal: AbortSignal | undefined,
  run: (devicesFor: (names: readonly string[]) => BackupDevice[]) => Promise<T>,
): Promise<T> {
  // What SQL Server hears back is a bare HTTP status; keep hbr's side of a failed request so the
  // error the user sees says why (a store failure, a wrong signature, a missing blob).
  const seen: string[] = [];
  const endpoint = await startBlobEndpoint({
    table,
    signature: transport.signature,
    onError: (error, request) => {
      if (seen.length < 5) seen.push(`${request}: ${(error as Error).message}`);
    },
    host: transport.host ?? '127.0.0.1',
    port: transport.port ?? 0,
    ...(transport.tls ? { tls: transport.tls } : {}),
    ...(signal ? { signal } : {}),
  });
  const base = (transport.publicUrl ?? endpoint.url).replace(/\/+$/, '');
  try {
    return await run((names) =>
      names.map((name) => ({ kind: 'url', path: `${base}/${containerOf(transport)}/${name}` })),
    );
  } catch (error) {
    if (seen.length === 0 || !(error instanceof Error)) throw error;
    throw new SourceError(`${error.message}; hbr's blob endpoint reported: ${seen.join('; ')}`, {
      cause: error,
    });
  } finally {
    await endpoint.close();
  }
}

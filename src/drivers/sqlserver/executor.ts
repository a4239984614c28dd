/**
 * Runs T-SQL on one SQL Server session through `mssql` (tedious). One connection (a pool of one) so
 * that `SET SINGLE_USER`, the tail-log backup and the RESTOREs share a session; no driver timeout
 * (BACKUP/RESTORE/DBCC run for hours and a timeout would abort them), cancellation by AbortSignal.
 * @module
 */
import type { ConnectionPool, config as MssqlConfig, Request } from 'mssql';
import { InterruptedError, SourceError } from '../../errors.ts';
import type { SqlServerConnectionOptions } from './connection.ts';
import { describeSqlError, parseProgress, type SqlMessage } from './messages.ts';

/** Per-call options. */
export interface ExecOptions {
  readonly signal?: AbortSignal;
  /** Client-side limit; absent means none (BACKUP/RESTORE/DBCC). */
  readonly timeoutMs?: number;
  /** Every informational message (STATS lines, "Processed N pages …"). */
  readonly onMessage?: (message: SqlMessage) => void;
  /** Percent complete from `WITH STATS` messages. */
  readonly onProgress?: (percent: number) => void;
}

/** The result of one batch. */
export interface ExecResult {
  /** Every result set's rows, in order. */
  readonly recordsets: Record<string, unknown>[][];
  readonly messages: readonly SqlMessage[];
}

/** A session on one SQL Server. */
export interface SqlExecutor {
  /** Runs a batch and returns its result sets and informational messages. @throws SourceError */
  run(sql: string, options?: ExecOptions): Promise<ExecResult>;
  /** Runs a batch and returns the rows of its first result set (short queries: 60 s default limit). */
  query(sql: string, options?: ExecOptions): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/**
 * Connects to SQL Server (to `master` unless told otherwise).
 * @throws SourceError when the connection or login fails; the message names the server.
 */
export async function connectSqlServer(o: SqlServerConnectionOptions): Promise<SqlExecutor> {
  const { default: sql } = await import('mssql');
  const name = `${o.server}${o.instanceName ? `\\${o.instanceName}` : ''}${o.port ? `:${o.port}` : ''}`;
  const config: MssqlConfig = {
    server: o.server,
    ...(o.port ? { port: o.port } : {}),
    user: o.user,
    password: o.password,
    database: o.database ?? 'master',
    connectionTimeout: o.connectTimeoutMs ?? 30_000,
    requestTimeout: 0,
    pool: { min: 0, max: 1 },
    options: {
      encrypt: o.encrypt ?? true,
      trustServerCertificate: o.trustServerCertificate ?? false,
      ...(o.instanceName ? { instanceName: o.instanceName } : {}),
      appName: 'hbr',
    },
  };
  const pool: ConnectionPool = new sql.ConnectionPool(config);
  try {
    await pool.connect();
  } catch (error) {
    throw new SourceError(`[sqlserver:${name}] cannot connect: ${describeSqlError(error)}`, {
      cause: error,
    });
  }

  const run = async (text: string, opts: ExecOptions = {}): Promise<ExecResult> => {
    opts.signal?.throwIfAborted();
    const request: Request = new sql.Request(pool);
    const messages: SqlMessage[] = [];
    request.on('info', (info: SqlMessage) => {
      messages.push(info);
      opts.onMessage?.(info);
      const percent = parseProgress(info.message);
      if (percent !== null) opts.onProgress?.(percent);
    });
    const cancel = (): void => request.cancel();
    opts.signal?.addEventListener('abort', cancel, { once: true });
    const timer = opts.timeoutMs ? setTimeout(cancel, opts.timeoutMs) : undefined;
    try {
      const result = await request.batch(text);
      const sets = (result.recordsets as unknown as Record<string, unknown>[][] | undefined) ?? [];
      return { recordsets: sets.map((rows) => [...rows]), messages };
    } catch (error) {
      if (opts.signal?.aborted)
        throw new InterruptedError(`[sqlserver:${name}] cancelled`, { cause: error });
      throw new SourceError(`[sqlserver:${name}] ${firstLine(text)}: ${describeSqlError(error)}`, {
        cause: error,
      });
    } finally {
      opts.signal?.removeEventListener('abort', cancel);
      if (timer) clearTimeout(timer);
    }
  };

  return {
    run,
    async query(text, opts = {}) {
      const result = await run(text, { timeoutMs: 60_000, ...opts });
      return result.recordsets[0] ?? [];
    },
    async close() {
      await pool.close();
    },
  };
}

// --- internal ---

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

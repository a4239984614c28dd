/**
 * hbr's Azure-Blob-compatible endpoint for SQL Server's `BACKUP … TO URL` and
 * `RESTORE … FROM URL`: the calls SQL Server makes (Put Block, Put Block List, Put Blob, Get
 * Blob with ranges, Get Blob Properties, Get Block List, leases, Delete Blob) answered from a
 * {@link BlobTable}, so backup streams go straight into the repository and come back out of it.
 * Requests must carry the configured SAS signature (`sig`), which is what SQL Server's
 * `CREATE CREDENTIAL … SECRET` holds. SQL Server requires HTTPS on port 443 with a trusted
 * certificate; pass `tls` for that (tests use plain HTTP).
 * @module
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isHbrError } from '../../../errors.ts';
import { createByteBudget, type ByteBudget } from '../../../repository/index.ts';
import { blockListXml, parseBlockList } from './block-list-xml.ts';
import type { BlobTable } from './blob-table.ts';

/** Options of {@link startBlobEndpoint}. */
export interface BlobEndpointOptions {
  readonly table: BlobTable;
  /** The SAS signature every request must carry (the `sig` query parameter). */
  readonly signature: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** PEM certificate and key: serve HTTPS, as SQL Server requires. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Largest request body accepted (a block). @default 100 MiB, Azure's block limit */
  readonly maxBody?: number;
  /**
   * Bounds the bytes of request bodies held at once (pass one budget to several endpoints to
   * bound them together): a request waits, its body unread, until its length fits.
   * @default a budget of its own of 64 MiB (see `BODY_BUDGET`)
   */
  readonly bodyBudget?: ByteBudget;
  readonly signal?: AbortSignal;
  /** Sees every request that failed on hbr's side (the client gets a 4xx/5xx). */
  readonly onError?: (error: unknown, request: string) => void;
}

/** A running endpoint. */
export interface BlobEndpoint {
  /** Base URL, e.g. `http://127.0.0.1:41234`; blob URLs are `${url}/container/blob`. */
  readonly url: string;
  /** The Node server underneath, to read its settings (timeouts); stop it with `close`. */
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Bytes of request bodies an endpoint holds at once by default: 16 of SQL Server's largest
 * blocks (4 MiB), more than storing them keeps busy. Requests past it wait rather than get 503
 * ServerBusy: a waiting request holds only its socket while TCP holds its upload back, which the
 * client sees as a slow network; a 503 would cost it a retry after a back-off and the block sent
 * again, and SQL Server fails the backup once its retries run out.
 */
const BODY_BUDGET = 64 * 1024 * 1024;

/** Starts the endpoint. */
export async function startBlobEndpoint(options: BlobEndpointOptions): Promise<BlobEndpoint> {
  const leases = new Map<string, string>();
  const budget = options.bodyBudget ?? createByteBudget(BODY_BUDGET);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    _handle(options, budget, leases, req, res).catch((error: unknown) => {
      options.onError?.(error, `${req.method ?? '?'} ${req.url ?? ''}`);
      _fail(res, error);
    });
  };
  // No limit on a whole request's time (Node's default is 5 minutes until the body is in): a Put
  // Block waiting for the body budget leaves its body unread, and behind a slow store it may
  // wait longer than that. SQL Server would get 408 and send the block again, to the back of the
  // queue, until its retries ran out. Headers still have Node's 60 seconds (which would follow
  // the request timeout down to none), so a connection that never sends them is not held forever.
  const timeouts = { requestTimeout: 0, headersTimeout: 60_000 };
  const server: Server = options.tls
    ? createHttpsServer({ ...options.tls, ...timeouts }, handler)
    : createHttpServer(timeouts, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  return {
    url: `${options.tls ? 'https' : 'http'}://${options.host ?? '127.0.0.1'}:${port}`,
    server,
    close,
  };
}

// --- internal ---

async function _handle(
  options: BlobEndpointOptions,
  budget: ByteBudget,
  leases: Map<string, string>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://endpoint');
  res.setHeader('x-ms-version', '2020-10-02');
  res.setHeader('x-ms-request-id', String(req.headers['x-ms-client-request-id'] ?? randomUUID()));
  res.setHeader('x-ms-blob-type', 'BlockBlob');
  res.setHeader('Accept-Ranges', 'bytes');
  if (!_authorised(url.searchParams.get('sig'), options.signature)) {
    return _send(res, 403, 'AuthenticationFailed');
  }
  const key = decodeURIComponent(url.pathname.slice(1));
  if (!key.includes('/')) return _send(res, 400, 'InvalidUri'); // container-level calls are not used by SQL Server
  const { table, maxBody, signal } = options;
  const comp = url.searchParams.get('comp');
  const method = req.method ?? 'GET';

  if (comp === 'block' && method === 'PUT') {
    const id = url.searchParams.get('blockid');
    if (!id) return _send(res, 400, 'InvalidQueryParameterValue');
    // Handed over before its body is in: the order in which Put Blocks arrive decides which
    // body a re-sent block keeps, not the order in which their bodies are stored.
    await _withBody(req, budget, maxBody, (body) => table.putBlock(key, id, body, signal));
    return _send(res, 201);
  }
  if (comp === 'blocklist' && method === 'PUT') {
    await _withBody(req, budget, maxBody, async (body) =>
      table.putBlockList(key, parseBlockList((await body).toString('utf8'))),
    );
    return _send(res, 201);
  }
  if (comp === 'blocklist' && method === 'GET') {
    const lists = table.blockLists(key);
    const xml = Buffer.from(blockListXml(lists.committed, lists.uncommitted));
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': xml.length });
    res.end(xml);
    return;
  }
  if (comp === 'lease') return _lease(leases, key, req, res);
  if (comp !== null) return _send(res, 400, 'UnsupportedQueryParameter');

  if (method === 'PUT') {
    // Handed over before its body is in, as a Put Block (the later Put Blob wins).
    await _withBody(req, budget, maxBody, (body) => table.putBlob(key, body, signal));
    return _send(res, 201);
  }
  if (method === 'DELETE') {
    table.delete(key);
    return _send(res, 202);
  }
  const size = await table.size(key);
  if (size === undefined) return _send(res, 404, 'BlobNotFound');
  // The SDK insists on an ETag; one per blob version is all RESTORE needs.
  res.setHeader('ETag', `"${table.version(key)}"`);
  res.setHeader('Last-Modified', new Date().toUTCString());
  if (method === 'HEAD') {
    res.writeHead(200, {
      'Content-Length': size,
      'Content-Type': 'application/octet-stream',
      'x-ms-lease-state': 'available',
    });
    res.end();
    return;
  }
  if (method !== 'GET') return _send(res, 405, 'UnsupportedHttpVerb');
  const range = _range(String(req.headers['x-ms-range'] ?? req.headers.range ?? ''), size);
  if (range === 'invalid') {
    res.setHeader('Content-Range', `bytes */${size}`);
    return _send(res, 416, 'InvalidRange');
  }
  const [start, end] = range ?? [0, size - 1];
  const length = end - start + 1;
  // A client gone mid-read (a RESTORE cancelled, a reader done) is no failure of hbr's, and must
  // not crowd out one that is in what the caller reports; a blob that fails to read is. Told by
  // the response closing unfinished while the read was still sound, not by the error's code: a
  // store's connection reset fails a read with ECONNRESET too.
  let clientGone = false;
  let data: Readable | undefined = undefined; // a client may go while the read is opened
  res.once('close', () => (clientGone = !res.writableFinished && !data?.errored));
  data = length === 0 ? Readable.from([]) : await table.read(key, start, length, signal);
  res.writeHead(range ? 206 : 200, {
    'Content-Length': length,
    'Content-Type': 'application/octet-stream',
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  // Streamed, waiting on the client as it takes the bytes: a whole backup is many GiB.
  try {
    await pipeline(data, res);
  } catch (error) {
    if (clientGone) return;
    throw error;
  }
}

/** Leases are only bookkeeping: SQL Server takes them to lock its blobs; nothing else writes here. */
function _lease(
  held: Map<string, string>,
  key: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const action = String(req.headers['x-ms-lease-action'] ?? '').toLowerCase();
  const current = held.get(key);
  const given = req.headers['x-ms-lease-id'] as string | undefined;
  if (action === 'acquire') {
    const id = String(req.headers['x-ms-proposed-lease-id'] ?? randomUUID());
    if (current && current !== id) return _send(res, 409, 'LeaseAlreadyPresent');
    held.set(key, id);
    res.setHeader('x-ms-lease-id', id);
    return _send(res, 201);
  }
  if (action === 'break') {
    held.delete(key);
    res.setHeader('x-ms-lease-time', '0');
    return _send(res, 202);
  }
  if (!current || current !== given) return _send(res, 409, 'LeaseIdMismatchWithLeaseOperation');
  if (action === 'release') held.delete(key);
  else if (action === 'change')
    held.set(key, String(req.headers['x-ms-proposed-lease-id'] ?? current));
  else if (action !== 'renew') return _send(res, 400, 'InvalidHeaderValue');
  res.setHeader('x-ms-lease-id', held.get(key) ?? current);
  return _send(res, 200);
}

function _authorised(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const [a, b] = [Buffer.from(given), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Runs `use` with the request's body, read once its length fits `budget` and counted there
 * until `use` is done with it. A body must state its length, as Azure requires of every upload
 * (SQL Server always does): a chunked one could not be counted before it is read, so the budget
 * would no longer bound the memory bodies take.
 * @throws 411 (before reading) without a stated length; 413 when it is over `max`.
 */
async function _withBody<T>(
  req: IncomingMessage,
  budget: ByteBudget,
  max = 100 * 1024 * 1024,
  use: (body: Promise<Buffer>) => Promise<T>,
): Promise<T> {
  const header = req.headers['content-length'];
  const bytes = header === undefined || !/^\d+$/.test(header) ? NaN : Number(header);
  if (!Number.isSafeInteger(bytes))
    throw Object.assign(new Error('Content-Length required'), { status: 411 });
  if (bytes > max) throw Object.assign(new Error('request body too large'), { status: 413 });
  const body = budget.acquire(bytes).then(() => _body(req, max));
  try {
    return await use(body);
  } finally {
    // Also when `use` failed before taking the body: it is being read all the same.
    await body.catch(() => undefined);
    budget.release(bytes);
  }
}

async function _body(req: IncomingMessage, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > max) throw Object.assign(new Error('request body too large'), { status: 413 });
    parts.push(part);
  }
  return Buffer.concat(parts, size);
}

/** `bytes=a-b` / `bytes=a-` → inclusive [a, b]; undefined without a range; 'invalid' past the end. */
function _range(header: string, size: number): [number, number] | undefined | 'invalid' {
  const match = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
  return start >= size || end < start ? 'invalid' : [start, end];
}

function _send(res: ServerResponse, status: number, code?: string): void {
  if (code) res.setHeader('x-ms-error-code', code);
  const body = code
    ? `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code></Error>`
    : '';
  res.writeHead(status, {
    'Content-Length': Buffer.byteLength(body),
    ...(code ? { 'Content-Type': 'application/xml' } : {}),
  });
  res.end(body);
}

function _fail(res: ServerResponse, error: unknown): void {
  const status =
    (error as { status?: number }).status ??
    (isHbrError(error) && error.code === 'NOT_FOUND'
      ? 404
      : isHbrError(error) && error.code === 'USAGE'
        ? 400
        : 500);
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : undefined);
    return;
  }
  _send(
    res,
    status,
    status === 404
      ? 'BlobNotFound'
      : status === 400
        ? 'InvalidInput'
        : status === 413
          ? 'RequestBodyTooLarge'
          : status === 411
            ? 'MissingContentLengthHeader'
            : 'InternalError',
  );
}

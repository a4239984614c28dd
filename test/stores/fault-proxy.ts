/**
 * A small HTTP proxy in front of s3proxy or Azurite that breaks chosen responses the way a bad
 * network or an overloaded server does, for tests of timeouts and retries.
 * @module
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What the proxy does to a matching request:
 * - `pass`: forwards it unchanged
 * - `silent`: never answers (the connection stays open)
 * - `stall`: sends the headers and half the body, then nothing more (the connection stays open)
 * - `reset`: sends the headers and half the body, then resets the connection
 * - `refuse`: answers `refusal` itself, as the service does when it rejects a request (an
 *   expired SAS or STS token: 403 `AuthenticationFailed`, 400 `ExpiredToken`)
 */
export type FaultMode = 'pass' | 'silent' | 'stall' | 'reset' | 'refuse';

/** The error response of `refuse`, in the shape both Azure and S3 answer with. */
export interface Refusal {
  readonly status: number;
  /** The service's error code (`x-ms-error-code` and `<Code>`). */
  readonly code: string;
  readonly message: string;
}

/** A running proxy; change `mode`, `match` and `times` between requests. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  mode: FaultMode;
  /** Which requests get the fault; the others pass. @default every GET */
  match: (request: http.IncomingMessage) => boolean;
  /** How many more matching requests get the fault. @default Infinity */
  times: number;
  /** What `refuse` answers. @default 403 AuthenticationFailed */
  refusal: Refusal;
  /** Requests that got the fault so far. */
  faults: number;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (port 0) in front of `upstream` (`http://host:port`). */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const faulty = proxy.mode !== 'pass' && proxy.times > 0 && proxy.match(request);
      const mode = faulty ? proxy.mode : 'pass';
      if (faulty) {
        proxy.times--;
        proxy.faults++;
      }
      if (mode === 'silent') return;
      if (mode === 'refuse') {
        const { status, code, message } = proxy.refusal;
        response.writeHead(status, { 'content-type': 'application/xml', 'x-ms-error-code': code });
        response.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
        );
        return;
      }
      const forward = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (upstreamResponse) => {
          const body: Buffer[] = [];
          upstreamResponse.on('data', (chunk: Buffer) => body.push(chunk));
          upstreamResponse.on('end', () => {
            const whole = Buffer.concat(body);
            response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
            if (mode === 'pass' || whole.byteLength < 2) {
              response.end(whole);
              return;
            }
            response.write(whole.subarray(0, whole.byteLength >> 1));
            if (mode === 'reset') setTimeout(() => response.socket?.resetAndDestroy(), 50);
          });
        },
      );
      forward.on('error', (error) => {
        response.writeHead(502);
        response.end(String(error));
      });
      forward.end(Buffer.concat(chunks));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: FaultProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mode: 'pass',
    match: (request) => request.method === 'GET',
    times: Infinity,
    refusal: {
      status: 403,
      code: 'AuthenticationFailed',
      message: 'Signed expiry time must be after signed start time',
    },
    faults: 0,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}

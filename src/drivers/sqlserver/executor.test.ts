import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { isHbrError } from '../../errors.ts';
import { connectSqlServer } from './executor.ts';

// A TCP listener on loopback that hangs up on every client: not a SQL Server.
let server: Server;
let port = 0;
before(async () => {
  server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

void test('a server that is not SQL Server fails the connection with a SourceError naming it', async () => {
  await assert.rejects(
    connectSqlServer({
      server: '127.0.0.1',
      port,
      user: 'u',
      password: 'p',
      connectTimeoutMs: 5000,
      encrypt: false,
    }),
    (e: unknown) =>
      isHbrError(e) &&
      e.code === 'SOURCE' &&
      e.message.startsWith(`[sqlserver:127.0.0.1:${port}] cannot connect:`),
  );
});

/**
 * The disk transport's file handling, with stand-ins for the two things that cannot run here:
 * SQL Server (a recorder that writes the backup files BACKUP would write and answers the header
 * queries) and the repository (being written concurrently; this keeps to its types).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, test } from 'node:test';
import { SourceError } from '../../errors.ts';
import type { ArtifactRepository, BackupSession } from '../../repository/types.ts';
import { backupViaDisk, stageForRestore } from './disk-transport.ts';
import type { SqlExecutor } from './executor.ts';
import type { ServerInfo } from './operations.ts';
import { recordFromMeta } from './manifest-meta.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hbr-sqlserver-disk-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const info: ServerInfo = {
  serverName: 'SQL1',
  productVersion: '16.0.4135.4',
  majorVersion: 16,
  utcOffsetMinutes: 0,
  now: null,
  timeZone: null,
  dataPath: '/d',
  logPath: '/l',
};

function fakeServer(failVerify = false): SqlExecutor & { statements: string[] } {
  const statements: string[] = [];
  const run: SqlExecutor['run'] = async (sql) => {
    statements.push(sql);
    if (sql.startsWith('BACKUP')) {
      const paths = [...sql.matchAll(/DISK = N'((?:[^']|'')*)'/g)].map((m) =>
        m[1]!.replaceAll("''", "'"),
      );
      await Promise.all(paths.map((p, i) => writeFile(p, `stripe ${i} of ${sql}`)));
      return { recordsets: [], messages: [] };
    }
    if (sql.includes('VERIFYONLY') && failVerify)
      throw new SourceError('[sqlserver:SQL1] Msg 3241: The media family is incorrectly formed');
    if (sql.includes('RESTORE HEADERONLY')) return { recordsets: [[header]], messages: [] };
    if (sql.includes('RESTORE FILELISTONLY'))
      return {
        recordsets: [
          [{ LogicalName: 'S', PhysicalName: '/d/S.mdf', Type: 'D', FileID: '1', IsPresent: true }],
        ],
        messages: [],
      };
    return { recordsets: [], messages: [] };
  };
  return {
    statements,
    run,
    query: async (sql) => (await run(sql)).recordsets[0] ?? [],
    close: () => Promise.resolve(),
  };
}

const header = {
  BackupType: 1,
  BackupTypeDescription: 'DATABASE',
  Position: 1,
  ServerName: 'SQL1',
  DatabaseName: "S, 'x'",
  FirstLSN: '3765680000057920000012345',
  LastLSN: '3765680000057920000099999',
  CheckpointLSN: '3765680000057920000012345',
  DatabaseBackupLSN: '0',
  BackupStartDate: '2026-01-01T00:00:00',
  BackupFinishDate: '2026-01-01T00:01:00',
  BackupSetGUID: 'CCCCCCCC-0000-4000-8000-000000000001',
  HasBackupChecksums: true,
  ServerUtcOffsetMinutes: 0,
};

function fakeSession(): BackupSession & { stored: Map<string, Buffer> } {
  const stored = new Map<string, Buffer>();
  return {
    stored,
    async addArtifact(path, data) {
      const chunks: Buffer[] = [];
      for await (const chunk of data) chunks.push(Buffer.from(chunk as Uint8Array));
      const bytes = Buffer.concat(chunks);
      stored.set(path, bytes);
      return { path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    },
    commit: () => Promise.reject(new Error('unused')),
    abort: () => Promise.resolve(),
  };
}

void test('a striped backup is verified, ingested byte for byte, and the staging files removed', async () => {
  const server = fakeServer();
  const session = fakeSession();
  const result = await backupViaDisk(
    server,
    info,
    session,
    { serverPath: dir, localPath: dir },
    { database: "S, 'x'", type: 'full', stripes: 2 },
    { now: new Date('2026-01-01T00:00:00Z') },
  );
  assert.deepEqual(
    [...session.stored.keys()],
    ['S_x_full_20260101T000000Z_1of2.bak', 'S_x_full_20260101T000000Z_2of2.bak'],
  );
  assert.match(
    session.stored.get('S_x_full_20260101T000000Z_2of2.bak')!.toString(),
    /^stripe 1 of BACKUP DATABASE \[S, 'x'\]/,
  );
  assert.deepEqual(await readdir(dir), []);
  assert.ok(
    server.statements.some((s) => s.startsWith('RESTORE VERIFYONLY') && s.includes('CHECKSUM')),
  );
  assert.equal(result.meta.verified, true);
  assert.equal(result.artifacts.length, 2);
  const record = recordFromMeta(
    'b1',
    JSON.parse(JSON.stringify(result.meta)) as Record<string, unknown>,
  );
  assert.equal(record.lastLsn, 3765680000057920000099999n);
  assert.deepEqual(record.files, [...session.stored.keys()]);
});

void test('a failed verification stores nothing and still removes the staging file', async () => {
  const session = fakeSession();
  await assert.rejects(
    backupViaDisk(
      fakeServer(true),
      info,
      session,
      { serverPath: dir, localPath: dir },
      { database: 'S', type: 'log' },
    ),
    /Msg 3241/,
  );
  assert.equal(session.stored.size, 0);
  assert.deepEqual(await readdir(dir), []);
});

void test('staging for restore writes each artifact and maps the recorded paths to server paths', async () => {
  const content = new Map([
    ['S_full.bak', Buffer.from('full bytes')],
    ['S_log.trn', Buffer.from('log bytes')],
  ]);
  const repository = {
    openArtifact: (_id: string, path: string) => Readable.from([content.get(path)!]),
  } as unknown as ArtifactRepository;
  const full = recordFromMeta('aaaa', {
    sqlserver: 1,
    set: {
      ...header,
      BackupStartDate: '2026-01-01T00:00:00Z',
      BackupFinishDate: '2026-01-01T00:01:00Z',
    },
    artifacts: ['S_full.bak'],
  });
  const staged = await stageForRestore(
    repository,
    [{ backupId: 'aaaabbbbccccddddeeee', record: full }],
    { serverPath: 'X:\\stage', localPath: dir },
  );
  assert.equal(
    staged.deviceFor('S_full.bak', full).path,
    'X:\\stage\\aaaabbbbccccdddd\\S_full.bak',
  );
  assert.equal(await readFile(join(dir, 'aaaabbbbccccdddd', 'S_full.bak'), 'utf8'), 'full bytes');
  await staged.cleanup();
  assert.deepEqual(await readdir(join(dir, 'aaaabbbbccccdddd')), []);
});

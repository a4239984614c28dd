/**
 * Restore scripts generated from plans of the real RestoreCommaIssues.json history, whose server,
 * database and file names hold commas and spaces; the target names add brackets and quotes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { planRestore } from '../../src/drivers/sqlserver/chain.ts';
import { parseHistoryJson } from '../../src/drivers/sqlserver/history.ts';
import { computeMoves } from '../../src/drivers/sqlserver/move.ts';
import { movesFor } from '../../src/drivers/sqlserver/restore-layout.ts';
import { buildRestoreScript } from '../../src/drivers/sqlserver/tsql-restore.ts';
import { rec } from './build.ts';

const file = new URL('../fixtures/sqlserver/dbatools/RestoreCommaIssues.json', import.meta.url);
const { records } = parseHistoryJson(readFileSync(file, 'utf8'), 'RestoreCommaIssues.json');
const dir = 'C:\\dbatools\\Test, command and conquer\\';
const source = 'Test, command and conquer ';

void it('restores side by side under a bracketed, quoted name at a time between two logs', () => {
  // 07:53Z is between _21 (07:52:18) and _22 (07:54:48): full, diff, _21, _22 with STOPAT.
  const plan = planRestore(records, { kind: 'time', at: new Date('2017-05-04T07:53:00Z') });
  const target = "Test]], 'before' drop";
  const moves = computeMoves(
    [
      {
        logicalName: 'RestoreTimeDiff',
        physicalName: 'C:\\data\\RestoreTimeDiff.mdf',
        type: 'D',
        fileGroupName: 'PRIMARY',
        fileId: 1,
        sizeBytes: null,
        isPresent: true,
      },
      {
        logicalName: 'RestoreTimeDiff_log',
        physicalName: 'C:\\log\\RestoreTimeDiff_log.ldf',
        type: 'L',
        fileGroupName: null,
        fileId: 2,
        sizeBytes: null,
        isPresent: true,
      },
    ],
    {
      sourceDatabase: source,
      targetDatabase: target,
      dataDirectory: 'E:\\data, new',
      logDirectory: "E:\\log's",
    },
  );
  const script = buildRestoreScript(plan, {
    targetDatabase: target,
    targetExists: false,
    moves,
    serverUtcOffsetMinutes: 60,
  });
  const q = "[Test]]]], 'before' drop]";
  // A dbatools export does not say whether a set has checksums: restored without CHECKSUM, which
  // SQL Server refuses for a set taken without them (the checksums a set has are verified anyway).
  const move =
    "MOVE N'RestoreTimeDiff' TO N'E:\\data, new\\Test]], ''before'' drop_RestoreTimeDiff.mdf', " +
    "MOVE N'RestoreTimeDiff_log' TO N'E:\\log''s\\Test]], ''before'' drop_RestoreTimeDiff_log.ldf'";
  assert.deepEqual(
    script.map((s) => s.sql),
    [
      `RESTORE DATABASE ${q} FROM DISK = N'${dir}RestoreTimeDiff.bak' WITH FILE = 1, NORECOVERY, STATS = 10, ${move};`,
      `RESTORE DATABASE ${q} FROM DISK = N'${dir}RestoreTimeDiff2.bak' WITH FILE = 1, NORECOVERY, STATS = 10, ${move};`,
      `RESTORE LOG ${q} FROM DISK = N'${dir}RestoreTimeDiff_21.trn' WITH FILE = 1, NORECOVERY, STATS = 10;`,
      // STOPAT is server-local: 07:53Z at UTC+1 is 08:53.
      `RESTORE LOG ${q} FROM DISK = N'${dir}RestoreTimeDiff_22.trn' WITH FILE = 1, NORECOVERY, STATS = 10, STOPAT = N'2017-05-04T08:53:00.000';`,
      `RESTORE DATABASE ${q} WITH RECOVERY;`,
      `SELECT state_desc FROM sys.databases WHERE name = N'Test]], ''before'' drop';`,
      `ALTER DATABASE ${q} SET MULTI_USER;`,
    ],
  );
});

void it('restores in place over the existing database after a tail-log backup', () => {
  const plan = planRestore(records, { kind: 'latest' });
  const script = buildRestoreScript(plan, {
    targetExists: true,
    replace: true,
    tailLogDevice: { kind: 'disk', path: `${dir}tail, 1.trn` },
    serverUtcOffsetMinutes: 0,
  });
  const q = '[Test, command and conquer ]';
  assert.deepEqual(
    script.map((s) => s.kind),
    [
      'single-user',
      'tail-log',
      'restore',
      'restore',
      'restore',
      'restore',
      'restore',
      'restore',
      'restore',
      'restore',
      'recover',
      'check-online',
      'multi-user',
    ],
  );
  assert.equal(script[0]!.sql, `ALTER DATABASE ${q} SET SINGLE_USER WITH ROLLBACK IMMEDIATE;`);
  assert.equal(
    script[1]!.sql,
    `BACKUP LOG ${q} TO DISK = N'${dir}tail, 1.trn' WITH NO_TRUNCATE, NORECOVERY, CHECKSUM, FORMAT, INIT, STATS = 10;`,
  );
  assert.match(
    script[2]!.sql,
    /RestoreTimeDiff\.bak' WITH FILE = 1, NORECOVERY, STATS = 10, REPLACE;$/,
  );
  // Latest: the tail log is applied after the last log backup, no STOPAT anywhere.
  assert.match(
    script[9]!.sql,
    /^RESTORE LOG .* FROM DISK = N'.*tail, 1\.trn' WITH FILE = 1, NORECOVERY/,
  );
  assert.ok(script.every((s) => !s.sql.includes('STOPAT')));
  assert.ok(script.filter((s) => s.kind === 'restore').every((s) => s.sql.includes('NORECOVERY')));
});

void it('stops at an LSN with STOPATMARK and can leave the database restoring or in standby', () => {
  const plan = planRestore(records, { kind: 'lsn', lsn: 34000000025000000n });
  const restoring = buildRestoreScript(plan, {
    targetExists: false,
    serverUtcOffsetMinutes: 0,
    recover: false,
  });
  assert.equal(restoring.at(-1)!.kind, 'restore');
  assert.match(restoring.at(-1)!.sql, /_23\.trn' WITH .*STOPATMARK = N'lsn:34000000025000000';$/);
  const standby = buildRestoreScript(plan, {
    targetExists: false,
    serverUtcOffsetMinutes: 0,
    standbyFile: 'C:\\undo it.tuf',
  });
  assert.deepEqual(
    standby.slice(-2).map((s) => s.sql),
    [
      `RESTORE DATABASE [Test, command and conquer ] WITH STANDBY = N'C:\\undo it.tuf';`,
      `SELECT state_desc FROM sys.databases WHERE name = N'Test, command and conquer ';`,
    ],
  );
});

void it('refuses to overwrite without --replace, to rename without MOVE, and a tail log when not in place', () => {
  const plan = planRestore(records, { kind: 'latest' });
  assert.throws(
    () => buildRestoreScript(plan, { targetExists: true, serverUtcOffsetMinutes: 0 }),
    /pass --replace/,
  );
  assert.throws(
    () =>
      buildRestoreScript(plan, {
        targetDatabase: 'Copy',
        targetExists: false,
        serverUtcOffsetMinutes: 0,
      }),
    /needs MOVE/,
  );
  assert.throws(
    () =>
      buildRestoreScript(plan, {
        targetExists: false,
        tailLogDevice: { kind: 'disk', path: 't.trn' },
        serverUtcOffsetMinutes: 0,
      }),
    /tail-log backup needs an in-place restore/,
  );
});

void it('converts STOPAT on the server at the offset in force at the target, not today’s', () => {
  // A Berlin server restoring in July (UTC+2) to 15 January 10:29Z, when it was UTC+1: the wall
  // clock then read 11:29, so a fixed offset of today's +120 would stop an hour late.
  const full = rec('full', 100n, 200n, 10);
  const log = rec('log', 200n, 300n, 30 * 24 * 60);
  const plan = planRestore([full, log], { kind: 'time', at: new Date('2026-01-15T10:29:00Z') });
  const script = buildRestoreScript(plan, {
    targetExists: false,
    serverUtcOffsetMinutes: 120,
    serverTimeZone: 'W. Europe Standard Time',
  });
  const stop = script.find((s) => s.step === log)!.sql;
  assert.equal(
    stop.split('\n')[0],
    "DECLARE @stopat varchar(23) = CONVERT(varchar(23), CONVERT(datetime2(3), CONVERT(datetimeoffset(3), N'2026-01-15T10:29:00.000+00:00') AT TIME ZONE N'W. Europe Standard Time'), 126);",
  );
  assert.match(stop.split('\n')[1]!, /^RESTORE LOG \[Sales\] FROM .* STOPAT = @stopat;$/);
  assert.ok(!stop.includes('12:29'));
});

void it('moves a file added after the full, from the differential or log that first lists it', () => {
  // 07:53Z: full, diff, _21, _22 (STOPAT). The source name is not in the file names, so each
  // target is the target name, then the original name. The full lists the data and log files; a file added
  // before the differential (Archive) is in its list and later ones; a file added while _22's log
  // was written (Audit) first appears in _22's list.
  const plan = planRestore(records, { kind: 'time', at: new Date('2017-05-04T07:53:00Z') });
  const entry = (logicalName: string, physicalName: string, type: 'D' | 'L', fileId: number) => ({
    logicalName,
    physicalName,
    type,
    fileGroupName: type === 'D' ? 'PRIMARY' : null,
    fileId,
    sizeBytes: null,
    isPresent: true,
  });
  const full = [
    entry('RestoreTimeDiff', 'C:\\data\\RestoreTimeDiff.mdf', 'D', 1),
    entry('RestoreTimeDiff_log', 'C:\\log\\RestoreTimeDiff_log.ldf', 'L', 2),
  ];
  const withArchive = [...full, entry('Archive', 'C:\\data\\RestoreTimeDiff_archive.ndf', 'D', 3)];
  const withAudit = [...withArchive, entry('Audit', 'C:\\data\\audit.ndf', 'D', 4)];
  const info = {
    serverName: 'S',
    productVersion: '15.0.4000.1',
    majorVersion: 15,
    utcOffsetMinutes: 0,
    now: null,
    timeZone: null,
    dataPath: 'E:\\data',
    logPath: 'E:\\log',
  };
  const moves = movesFor(plan, [full, withArchive, withArchive, withAudit], info, 'Copy', {});
  const script = buildRestoreScript(plan, {
    targetDatabase: 'Copy',
    targetExists: false,
    movesByStep: moves,
    serverUtcOffsetMinutes: 0,
  });
  const movesIn = (sql: string): string[] =>
    [...sql.matchAll(/MOVE N'([^']+)' TO N'([^']+)'/g)].map((m) => `${m[1]} -> ${m[2]}`);
  assert.deepEqual(
    script.filter((s) => s.kind === 'restore').map((s) => movesIn(s.sql)),
    [
      [
        'RestoreTimeDiff -> E:\\data\\Copy_RestoreTimeDiff.mdf',
        'RestoreTimeDiff_log -> E:\\log\\Copy_RestoreTimeDiff_log.ldf',
      ],
      [
        'RestoreTimeDiff -> E:\\data\\Copy_RestoreTimeDiff.mdf',
        'RestoreTimeDiff_log -> E:\\log\\Copy_RestoreTimeDiff_log.ldf',
        'Archive -> E:\\data\\Copy_RestoreTimeDiff_archive.ndf',
      ],
      // RESTORE LOG may move only the files added during its log: none in _21, Audit in _22.
      [],
      ['Audit -> E:\\data\\Copy_audit.ndf'],
    ],
  );
});

void it('converts STOPAT before SQL Server 2022 with the offset recorded with the log holding the target', () => {
  // A Berlin server restoring in July (UTC+2 now) to 15 January 10:29Z: the log backup taken then
  // recorded UTC+1 (msdb time_zone 4), so the wall clock read 11:29, not today's 12:29.
  const full = rec('full', 100n, 200n, 10, { utcOffsetMinutes: 60 });
  const log = rec('log', 200n, 300n, 30 * 24 * 60, { utcOffsetMinutes: 60 });
  const plan = planRestore([full, log], { kind: 'time', at: new Date('2026-01-15T10:29:00Z') });
  const script = buildRestoreScript(plan, { targetExists: false, serverUtcOffsetMinutes: 120 });
  assert.match(script.find((s) => s.step === log)!.sql, /STOPAT = N'2026-01-15T11:29:00\.000';$/);
  // Without a recorded offset, today's is all there is.
  const unknown = planRestore([full, { ...log, utcOffsetMinutes: null }], plan.target);
  const fallback = buildRestoreScript(unknown, {
    targetExists: false,
    serverUtcOffsetMinutes: 120,
  });
  const last = fallback.find((s) => s.step === unknown.steps[1])!;
  assert.match(last.sql, /STOPAT = N'2026-01-15T12:29:00\.000';$/);
});

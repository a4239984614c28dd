/** End-to-end tests of `hbr sqlserver plan`: in-process through main(), and once as a process. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import { parse, stringify } from 'lossless-json';
import { main } from '../../src/cli/main.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = join(root, 'test/fixtures/sqlserver/dbatools');
let scratch = '';

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'hbr-sqlserver-cli-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (b: Buffer) => out.push(b));
  stderr.on('data', (b: Buffer) => err.push(b));
  const code = await main(argv, {
    stdout,
    stderr,
    env: {},
    cwd: fixtures,
    signal: new AbortController().signal,
    isTTY: false,
  });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

interface PlanOut {
  steps: { type: string; firstLsn: string; lastLsn: string; files: string[] }[];
  stopAt: string | null;
}

void it('prints the plan as JSON with LSNs as exact strings', async () => {
  const r = await run('sqlserver', 'plan', '--history', 'EmptyTLogData.json', '--json');
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as PlanOut;
  // F2 then LB (see fixtures.test.ts): LSNs beyond 2^64 survive digit for digit.
  assert.deepEqual(
    plan.steps.map((s) => [s.type, s.firstLsn, s.lastLsn]),
    [
      ['full', '14975000000270800036', '14975000000272400001'],
      ['log', '14975000000270600001', '14975000000273200001'],
    ],
  );
  assert.equal(plan.stopAt, null);
});

void it('reads --at without an offset as UTC and reports STOPAT', async () => {
  const r = await run(
    '--json',
    'sqlserver',
    'plan',
    '--history',
    'DiffRestore.json',
    '--at',
    '2017-05-04T07:46',
  );
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as PlanOut;
  assert.equal(plan.stopAt, '2017-05-04T07:46:00.000Z');
  assert.deepEqual(
    plan.steps.map((s) => s.files[0]?.split('\\').pop()),
    ['RestoreTimeDiff.bak', 'RestoreTimeDiff_1.trn', 'RestoreTimeDiff_2.trn'],
  );
  const offset = await run(
    '--json',
    'sqlserver',
    'plan',
    '--history',
    'DiffRestore.json',
    '--at',
    '2017-05-04T09:46+02:00',
  );
  assert.equal((JSON.parse(offset.stdout) as PlanOut).stopAt, '2017-05-04T07:46:00.000Z');
});

/** The `exitError` line a failed `--json` command writes on stderr (README, "Output"). */
function exitErrorOf(r: { stdout: string; stderr: string }): {
  messageType: string;
  code: number;
  error: { code: string; message: string; reason?: string };
} {
  assert.equal(r.stdout, '', 'nothing on stdout');
  return JSON.parse(r.stderr) as ReturnType<typeof exitErrorOf>;
}

void it('reports an impossible target as the exitError line on stderr, with the plan reason', async () => {
  const r = await run(
    'sqlserver',
    'plan',
    '--history',
    'DiffRestore.json',
    '--at',
    '2017-05-04T07:00:00Z',
    '--json',
  );
  assert.equal(r.code, 1);
  const out = exitErrorOf(r);
  assert.equal(out.messageType, 'exitError');
  assert.equal(out.code, 1);
  assert.equal(out.error.code, 'PLAN');
  assert.equal(out.error.reason, 'NO_FULL_BEFORE_TARGET');
  assert.match(out.error.message, /earliest full .* ends at 2017-05-04T07:42:17/);
});

void it('reports a missing log as LSN_GAP with both LSNs', async () => {
  // Drop _22.trn from the history, keeping every LSN digit (lossless-json round trip).
  const items = parse(await readFile(join(fixtures, 'DiffRestore.json'), 'utf8')) as {
    BackupPath: string;
  }[];
  const file = join(scratch, 'gap.json');
  await writeFile(file, stringify(items.filter((i) => !i.BackupPath.endsWith('_22.trn'))) ?? '');
  const r = await run('sqlserver', 'plan', '--history', file, '--json');
  assert.equal(r.code, 1);
  const out = exitErrorOf(r);
  assert.equal(out.error.reason, 'LSN_GAP');
  assert.match(out.error.message, /34000000023200001.*34000000024800001/);
});

void it("treats a DBA's log backup to NUL as the gap it is, never a step, and says why", async () => {
  const items = parse(await readFile(join(fixtures, 'DiffRestore.json'), 'utf8')) as {
    BackupPath: string;
  }[];
  const file = join(scratch, 'nul.json');
  const nul = items.map((i) =>
    i.BackupPath.endsWith('_22.trn') ? { ...i, BackupPath: 'NUL' } : i,
  );
  await writeFile(file, stringify(nul) ?? '');
  const r = await run('sqlserver', 'plan', '--history', file, '--json');
  assert.notEqual(r.code, 0);
  const out = exitErrorOf(r);
  assert.equal(out.error.reason, 'LSN_GAP');
  assert.match(out.error.message, /written to NUL and discarded: the log chain breaks there/);
  // The gap itself names it: the log backup that would continue the chain, with its time and LSNs.
  assert.match(
    out.error.message,
    /gap in the log chain between LSN 34000000023200001 .*: the log backup continuing the chain is the log backup at 2017-\S+ \(LSN 34000000023200001 → 34000000024800001, [0-9a-f-]{36}\), written to the null device \(NUL\) and discarded;/,
  );
  // The last log backup emptied to NUL: a tail-log backup would start after it, so it is the gap
  // that stops the plan, not a missing tail-log backup.
  const last = join(scratch, 'nul-last.json');
  await writeFile(
    last,
    stringify(
      items.map((i) => (i.BackupPath.endsWith('_25.trn') ? { ...i, BackupPath: 'NUL' } : i)),
    ) ?? '',
  );
  const tail = exitErrorOf(
    await run('sqlserver', 'plan', '--history', last, '--at', '2017-05-04T08:00:00Z', '--json'),
  );
  assert.equal(tail.error.reason, 'LSN_GAP');
  assert.match(
    tail.error.message,
    /gap in the log chain after LSN 34000000027000001 .*: the log backup continuing the chain is the log backup at 2017-05-04T07:59:48\.000Z \(LSN 34000000027000001 → 34000000028400001, [0-9a-f-]{36}\), written to the null device \(NUL\) and discarded, and no later backup continues it;/,
  );
  // --database names the database as SQL Server compares names: without case.
  const named = await run('sqlserver', 'plan', '--history', file, '--database', 'restoretimediff');
  assert.notEqual(named.code, 0);
  assert.match(named.stderr, /written to NUL and discarded/);
  // A target before it plans without it, the script never reads NUL, and the plan, which never
  // gets there, is not warned of it.
  const before = await run(
    'sqlserver',
    'plan',
    '--history',
    file,
    '--at',
    '2017-05-04T07:46',
    '--script',
  );
  assert.equal(before.code, 0, before.stderr);
  assert.doesNotMatch(before.stdout, /N'NUL'/);
  assert.doesNotMatch(before.stdout, /NUL and discarded/);
});

/** `fixture` with the sets `pick` chooses written to NUL instead, in a file of the scratch folder. */
async function withNul(
  fixture: string,
  name: string,
  pick: (set: Record<string, unknown>) => boolean,
): Promise<string> {
  const items = parse(await readFile(join(fixtures, fixture), 'utf8')) as Record<string, unknown>[];
  const file = join(scratch, name);
  await writeFile(
    file,
    stringify(items.map((i) => (pick(i) ? { ...i, BackupPath: 'NUL' } : i))) ?? '',
  );
  return file;
}

void it('warns of a log backup to NUL the plan crosses, and not of one before its full', async () => {
  const nulWarning = /written to NUL and discarded: the log chain breaks there/;
  // The first log after the full emptied to NUL: the differential bridges it, so the plan goes
  // on, across the break in the chain since its full, and says so.
  const bridged = await run(
    'sqlserver',
    'plan',
    '--history',
    await withNul('DiffRestore.json', 'nul-bridged.json', (i) =>
      String(i.BackupPath).endsWith('_1.trn'),
    ),
    '--json',
  );
  assert.equal(bridged.code, 0, bridged.stderr);
  const plan = JSON.parse(bridged.stdout) as PlanOut & { warnings: string[] };
  assert.deepEqual(
    plan.steps.map((s) => s.type),
    ['full', 'diff', 'log', 'log', 'log', 'log', 'log'],
  );
  assert.equal(plan.warnings.filter((w) => nulWarning.test(w)).length, 1, plan.warnings.join('\n'));
  assert.match(plan.warnings.join('\n'), /LSN 34000000006900179 → 34000000016800001/);
  // A log emptied to NUL the day before the newest full: the plan starts after it.
  const file = await withNul(
    'EmptyTLogData.json',
    'nul-before-full.json',
    (i) =>
      String(i.FirstLSN) === '14975000000268000001' && String(i.LastLSN) === '14975000000270600001',
  );
  const fresh = await run('sqlserver', 'plan', '--history', file);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.match(fresh.stdout, /^1\s+full\s+2017-04-27 \S+\s+14975000000270800036/m);
  assert.doesNotMatch(fresh.stdout, /NUL/);
  // The same log is the gap a target before that full cannot cross: named there, as before.
  const gap = exitErrorOf(
    await run('sqlserver', 'plan', '--history', file, '--at', '2017-04-27T12:00:00Z', '--json'),
  );
  assert.equal(gap.error.reason, 'LSN_GAP');
  assert.match(gap.error.message, /written to the null device \(NUL\) and discarded/);
  assert.match(gap.error.message, nulWarning);
});

void it('says in a --script which UTC offset STOPAT assumed and how to give another', async () => {
  const plan = ['sqlserver', 'plan', '--history', 'DiffRestore.json', '--at', '2017-05-04T07:46'];
  const assumed = await run(...plan, '--script');
  assert.equal(assumed.code, 0, assumed.stderr);
  assert.match(
    assumed.stdout,
    /^-- warning: STOPAT 2017-05-04T07:46:00.000Z is 2017-05-04T07:46:00.000 server-local assuming the server clock is UTC\+00:00.*--server-utc-offset MINUTES.*--server-time-zone ID/,
  );
  assert.match(assumed.stdout, /STOPAT = N'2017-05-04T07:46:00.000';/);
  const given = await run(...plan, '--script', '--server-utc-offset', '-300');
  assert.match(
    given.stdout,
    /^-- warning: STOPAT .* is 2017-05-04T02:46:00.000 server-local assuming the server clock is UTC-05:00/,
  );
  assert.match(given.stdout, /STOPAT = N'2017-05-04T02:46:00.000';/);
  const json = await run('--json', ...plan, '--script');
  const out = JSON.parse(json.stdout) as { warnings: string[] };
  assert.ok(out.warnings.some((w) => /assuming the server clock is UTC\+00:00/.test(w)));
});

void it('refuses --at with an offset no zone has as a usage error (exit 2)', async () => {
  for (const at of ['2026-11-20T01:07:00+25:00', '2026-11-20T01:07:00+05:99']) {
    const r = await run('sqlserver', 'plan', '--history', 'DiffRestore.json', '--at', at);
    assert.equal(r.code, 2, at);
    assert.match(r.stderr, /not a valid UTC offset/);
  }
});

void it('prints a readable table without --json', async () => {
  const r = await run(
    'sqlserver',
    'plan',
    '--history',
    'RestoreCommaIssues.json',
    '--at',
    '2017-05-04T07:53:00Z',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Restore plan for database "Test, command and conquer "/);
  assert.match(
    r.stdout,
    /^4\s+log\s+2017-05-04 07:54:48Z\s+34000000023200001\s+34000000024800001/m,
  );
  assert.match(r.stdout, /Stop at 2017-05-04T07:53:00.000Z/);
});

void it('refuses --at and --lsn together, and a malformed time, as usage errors', async () => {
  const both = await run(
    'sqlserver',
    'plan',
    '--history',
    'DiffRestore.json',
    '--at',
    '2017-05-04',
    '--lsn',
    '1',
  );
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--at or --lsn, not both/);
  const bad = await run(
    'sqlserver',
    'plan',
    '--history',
    'DiffRestore.json',
    '--at',
    '04/05/2017',
    '--json',
  );
  assert.equal(bad.code, 2);
  assert.equal(exitErrorOf(bad).error.code, 'USAGE');
});

void it('runs as a real process through bin/hbr.js', async () => {
  const exec = promisify(execFile);
  const { stdout } = await exec(
    process.execPath,
    [
      join(root, 'bin/hbr.js'),
      'sqlserver',
      'plan',
      '--history',
      join(fixtures, 'AgDiffRestore.json'),
      '--lsn',
      '34000000025000000',
      '--json',
    ],
    { cwd: root },
  );
  const plan = JSON.parse(stdout) as PlanOut & { stopAtLsn: string };
  assert.equal(plan.stopAtLsn, '34000000025000000');
  // LSN 25000000 lies in _23 (24800001–26400001): full, diff, _21, _22, _23.
  assert.deepEqual(
    plan.steps.map((s) => s.files[0]?.split('\\').pop()),
    [
      'RestoreTimeDiff.bak',
      'RestoreTimeDiff2.bak',
      'RestoreTimeDiff_21.trn',
      'RestoreTimeDiff_22.trn',
      'RestoreTimeDiff_23.trn',
    ],
  );
  const failed = await exec(process.execPath, [
    join(root, 'bin/hbr.js'),
    'sqlserver',
    'plan',
    '--history',
    join(fixtures, 'DiffRestore.json'),
    '--at',
    '2030-01-01',
    '--json',
  ]).catch((e: { code: number; stdout: string; stderr: string }) => e);
  assert.equal((failed as { code: number }).code, 1);
  assert.equal(exitErrorOf(failed).error.reason, 'TAIL_LOG_NEEDED');
});

void it('prints the restore T-SQL of a plan with --script, names and paths quoted', async () => {
  const r = await run(
    'sqlserver',
    'plan',
    '--history',
    'RestoreCommaIssues.json',
    '--at',
    '2017-05-04T07:53:00Z',
    '--script',
    '--as',
    "Copy]'x",
    '--move',
    "RestoreTimeDiff=E:\\d, 1\\it's.mdf",
    '--move',
    'RestoreTimeDiff_log=E:\\l\\c.ldf',
    '--server-utc-offset',
    '120',
  );
  assert.equal(r.code, 0, r.stderr);
  // The STOPAT conversion comes first, as a comment; then the statements.
  const [comment, ...rest] = r.stdout.split('\n');
  assert.match(
    comment!,
    /^-- warning: STOPAT 2017-05-04T07:53:00.000Z is .* assuming .*UTC\+02:00/,
  );
  const statements = rest.join('\n').split('\nGO\n').filter(Boolean);
  assert.equal(statements.length, 7);
  assert.match(
    statements[0]!,
    /^RESTORE DATABASE \[Copy\]\]'x\] FROM DISK = N'C:\\dbatools\\Test, command and conquer\\RestoreTimeDiff\.bak'/,
  );
  assert.match(statements[0]!, /MOVE N'RestoreTimeDiff' TO N'E:\\d, 1\\it''s\.mdf'/);
  // 07:53Z on a server at UTC+2.
  assert.match(statements[3]!, /RestoreTimeDiff_22\.trn' .*STOPAT = N'2017-05-04T09:53:00\.000';$/);
  assert.equal(statements[4], "RESTORE DATABASE [Copy]]'x] WITH RECOVERY;");
});

void it('adds the script to the JSON plan, and refuses a rename without MOVE', async () => {
  const r = await run(
    '--json',
    'sqlserver',
    'plan',
    '--history',
    'DiffRestore.json',
    '--script',
    '--replace',
    '--tail-log',
    'T:\\tail.trn',
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { steps: unknown[]; script: { kind: string; sql: string }[] };
  assert.equal(out.steps.length, 7);
  assert.deepEqual(
    out.script.slice(0, 2).map((s) => s.kind),
    ['single-user', 'tail-log'],
  );
  assert.match(out.script[2]!.sql, /, REPLACE;$/);
  const bad = await run(
    '--json',
    'sqlserver',
    'plan',
    '--history',
    'DiffRestore.json',
    '--script',
    '--as',
    'Other',
  );
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /needs MOVE targets/);
});

void it('history needs a server URL and names the server it cannot reach', async () => {
  const none = await run('sqlserver', 'history');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give --url or set HBR_SQLSERVER_URL/);
  const badDays = await run(
    'sqlserver',
    'history',
    '--url',
    'mssql://u:p@127.0.0.1:1',
    '--days',
    'x',
  );
  assert.equal(badDays.code, 2);
  const down = await run('sqlserver', 'history', '--url', 'mssql://u:p@127.0.0.1:1?encrypt=false');
  assert.equal(down.code, 1);
  assert.match(down.stderr, /\[sqlserver:127\.0\.0\.1:1\] cannot connect/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviceOf } from './device.ts';
import {
  backupAdvice,
  databaseStateQuery,
  decideBackupType,
  parseDatabaseState,
  type DatabaseState,
} from './eligibility.ts';

const online: DatabaseState = {
  name: 'Sales',
  stateDesc: 'ONLINE',
  recoveryModel: 'FULL',
  isInStandby: false,
  hasLogChain: true,
  lastLogBackupLsn: 34000000006900179n,
  familyGuid: null,
  recoveryForkGuid: null,
  firstRecoveryForkGuid: null,
  forkPointLsn: null,
  hasDifferentialBase: true,
  differentialBaseLsn: 34000000006800010n,
  differentialBaseGuid: null,
  isEncrypted: false,
  availabilityReplica: null,
};

void test('the state query casts LSNs and names the database as a literal', () => {
  const sql = databaseStateQuery("O'Brien");
  assert.match(sql, /CONVERT\(varchar\(40\), drs\.last_log_backup_lsn\)/);
  assert.match(sql, /WHERE d\.name = N'O''Brien';$/);
  const state = parseDatabaseState('Sales', [
    {
      name: 'Sales',
      state_desc: 'ONLINE',
      recovery_model_desc: 'FULL',
      is_in_standby: false,
      is_encrypted: true,
      last_log_backup_lsn: null,
      differential_base_lsn: '34000000006900179',
    },
  ]);
  assert.deepEqual(
    [state.hasLogChain, state.hasDifferentialBase, state.isEncrypted],
    [false, true, true],
  );
  assert.equal(state.differentialBaseLsn, 34000000006900179n);
  assert.match(sql, /mf\.differential_base_guid/);
  assert.throws(() => parseDatabaseState('Nope', []), /does not exist/);
});

void test('possible backups run as asked', () => {
  for (const type of ['full', 'diff', 'log'] as const)
    assert.deepEqual(decideBackupType(type, online), { type, reason: null });
});

void test('impossible backups fail with what to do, or are promoted when asked', () => {
  const noChain = { ...online, hasLogChain: false, hasDifferentialBase: false };
  assert.throws(
    () => decideBackupType('log', noChain),
    /no log chain yet.*take a full backup first/,
  );
  assert.equal(decideBackupType('log', noChain, true).type, 'full');
  assert.equal(
    decideBackupType('log', { ...noChain, hasDifferentialBase: true }, true).type,
    'diff',
  );
  assert.throws(() => decideBackupType('diff', noChain), /no differential base/);
  assert.equal(decideBackupType('diff', noChain, true).type, 'full');
  assert.throws(
    () => decideBackupType('log', { ...online, recoveryModel: 'SIMPLE' }, true),
    /SIMPLE recovery model/,
  );
  assert.throws(
    () => decideBackupType('full', { ...online, stateDesc: 'RESTORING' }),
    /is RESTORING, not ONLINE/,
  );
  assert.throws(
    () => decideBackupType('log', { ...online, name: 'master' }),
    /master takes full backups only/,
  );
});

void test('a log no restore could use past a gap is promoted to a differential, or a full when its base is unusable', () => {
  const why = 'the log chain since the full backup at T (g) has a gap: X';
  const logGap = { why, named: true };
  const noGap = { logGap: null, differentialBaseGap: null };
  assert.deepEqual(decideBackupType('log', online, true, noGap), { type: 'log', reason: null });
  const diff = decideBackupType('log', online, true, { ...noGap, logGap });
  assert.equal(diff.type, 'diff');
  assert.equal(
    diff.reason,
    `${why}: a log backup now could not be restored past it, so a differential backup was taken instead of a log backup; the next log backups continue the chain from it`,
  );
  const differentialBaseGap = 'the base of a differential now is Y';
  const full = decideBackupType('log', online, true, { logGap, differentialBaseGap });
  assert.equal(full.type, 'full');
  assert.match(
    full.reason ?? '',
    /so a full backup was taken instead of a log backup \(not a differential: the base of a differential now is Y\)/,
  );
  // No log chain yet: the differential it would take is no better.
  const noChain = { ...online, hasLogChain: false };
  assert.equal(
    decideBackupType('log', noChain, true, { logGap: null, differentialBaseGap }).type,
    'full',
  );
  // A differential asked for on a base no restore can read.
  assert.deepEqual(decideBackupType('diff', online, true, { logGap: null, differentialBaseGap }), {
    type: 'full',
    reason: `${differentialBaseGap}: a differential now could not be restored, so a full backup was taken instead`,
  });
  // Without promotion: taken as asked, and the user told it is of no use for a restore.
  const asked = decideBackupType('log', online, false, { ...noGap, logGap });
  assert.deepEqual([asked.type, asked.reason], ['log', null]);
  assert.match(
    asked.warning ?? '',
    /: this log backup cannot be restored past it until a full or differential backup is taken$/,
  );
  assert.match(
    decideBackupType('diff', online, false, { logGap: null, differentialBaseGap }).warning ?? '',
    /this differential backup cannot be restored; take a full backup$/,
  );
  // A full is never promoted.
  assert.deepEqual(decideBackupType('full', online, true, { logGap, differentialBaseGap }), {
    type: 'full',
    reason: null,
  });
});

void test('native compression, encryption and TDE are called out as defeating deduplication', () => {
  const disk = [deviceOf('/b/x.bak')];
  assert.deepEqual(backupAdvice({ database: 'Sales', type: 'full', devices: disk }, online), []);
  const advice = backupAdvice(
    {
      database: 'Sales',
      type: 'full',
      devices: disk,
      compression: true,
      encryption: { algorithm: 'AES_256', serverCertificate: 'C' },
    },
    { ...online, isEncrypted: true },
  );
  assert.equal(advice.length, 4);
  assert.match(advice.join('\n'), /COMPRESSION .*cannot deduplicate/);
  assert.match(advice.join('\n'), /MAXTRANSFERSIZE above 65536/);
});

void test('the state query reads the recovery fork the next log starts on and the fork point', () => {
  const sql = databaseStateQuery('db');
  assert.match(sql, /drs\.first_recovery_fork_guid/);
  assert.match(sql, /CONVERT\(varchar\(40\), drs\.fork_point_lsn\) AS fork_point_lsn/);
  const state = parseDatabaseState('db', [
    {
      name: 'db',
      state_desc: 'ONLINE',
      recovery_model_desc: 'FULL',
      recovery_fork_guid: 'BBBBBBBB-0000-4000-8000-00000000000B',
      first_recovery_fork_guid: 'AAAAAAAA-0000-4000-8000-00000000000A',
      fork_point_lsn: '34000000025500001',
    },
  ]);
  assert.deepEqual(
    [state.recoveryForkGuid, state.firstRecoveryForkGuid, state.forkPointLsn],
    [
      'bbbbbbbb-0000-4000-8000-00000000000b',
      'aaaaaaaa-0000-4000-8000-00000000000a',
      34000000025500001n,
    ],
  );
});

void test('on the primary replica of an availability group a log past a gap is promoted, as outside one', () => {
  const why = 'the log chain since the full backup at T (g) has a gap: X';
  const logGap = { why, named: true };
  const primary = { ...online, availabilityReplica: { id: 'r', role: 'primary' as const } };
  const taken = decideBackupType('log', primary, true, { logGap, differentialBaseGap: null });
  assert.equal(taken.type, 'diff');
  assert.match(taken.reason ?? '', /so a differential backup was taken instead of a log backup/);
});

void test("on the primary replica a log past logs hbr has not seen is taken as asked, with a warning that other replicas' logs are not in this msdb", () => {
  const why =
    'the log chain since the full backup at T (g) does not reach LSN 5: a log backup hbr has not seen …';
  const unseen = { why, named: false };
  const primary = { ...online, availabilityReplica: { id: 'r', role: 'primary' as const } };
  const taken = decideBackupType('log', primary, true, {
    logGap: unseen,
    differentialBaseGap: null,
  });
  assert.deepEqual([taken.type, taken.reason], ['log', null]);
  assert.equal(
    taken.warning,
    `${why}: this log backup cannot be restored past it until a full or differential backup is taken, ` +
      'unless the backups hbr has not seen were taken on another replica of the availability group ' +
      "(not promoted: each replica's msdb records only the backups taken on it, so other replicas' log backups are not in the msdb hbr reads here)",
  );
  // Outside a group, such a gap is promoted as before.
  const outside = decideBackupType('log', online, true, {
    logGap: unseen,
    differentialBaseGap: null,
  });
  assert.equal(outside.type, 'diff');
});

void test('on a secondary replica a log past a gap is taken as asked, with a warning that says why (a secondary takes no differential)', () => {
  const why = 'the log chain since the full backup at T (g) has a gap: X';
  const logGap = { why, named: true };
  const secondary = { ...online, availabilityReplica: { id: 'r', role: 'secondary' as const } };
  const taken = decideBackupType('log', secondary, true, { logGap, differentialBaseGap: null });
  assert.deepEqual([taken.type, taken.reason], ['log', null]);
  assert.equal(
    taken.warning,
    `${why}: this log backup cannot be restored past it until a full or differential backup is taken on the primary replica ` +
      '(not promoted: this is a secondary replica of an availability group, where SQL Server takes no differential and no full backup but a copy-only one)',
  );
});

void test('where the replica role is unknown a log past a gap is taken as asked, and the warning says the role is unknown, not that it is a secondary', () => {
  const why = 'the log chain since the full backup at T (g) has a gap: X';
  const logGap = { why, named: true };
  const notRead = 'its role was not read: VIEW SERVER STATE permission was denied';
  const replica = { id: 'r', role: 'unknown' as const, why: notRead };
  const unknown = { ...online, availabilityReplica: replica };
  const taken = decideBackupType('log', unknown, true, { logGap, differentialBaseGap: null });
  assert.deepEqual([taken.type, taken.reason], ['log', null]);
  assert.equal(
    taken.warning,
    `${why}: this log backup cannot be restored past it until a full or differential backup is taken on the primary replica ` +
      `(not promoted: the role of this replica of an availability group is unknown (${notRead}), and it may be a secondary, ` +
      'where SQL Server takes no differential and no full backup but a copy-only one)',
  );
});

void test('the state query reads whether the database is in an availability group, and asks nothing of its role', () => {
  const sql = databaseStateQuery('db');
  assert.match(sql, /\bd\.replica_id\b/);
  // Neither sys.fn_hadr_is_primary_replica (SQL Server 2014 on, resolved when the batch compiles)
  // nor a view needing VIEW SERVER STATE: the query runs before every backup, on any server.
  assert.doesNotMatch(sql, /fn_hadr|sys\.dm_/);
  const row = { name: 'db', state_desc: 'ONLINE', recovery_model_desc: 'FULL' };
  assert.equal(parseDatabaseState('db', [{ ...row, replica_id: null }]).availabilityReplica, null);
  assert.deepEqual(
    parseDatabaseState('db', [{ ...row, replica_id: 'B1E2C3D4-0000-0000-0000-000000000001' }])
      .availabilityReplica,
    { id: 'b1e2c3d4-0000-0000-0000-000000000001', role: 'unknown', why: 'not read' },
  );
});

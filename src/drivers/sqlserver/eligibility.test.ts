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
  hasDifferentialBase: true,
  isEncrypted: false,
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

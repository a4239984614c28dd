import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseReplicaRole, replicaRoleQuery } from './replica-role.ts';

void test('the role query reads the local replica of the database from a view SQL Server 2012 has', () => {
  assert.equal(
    replicaRoleQuery('b1e2c3d4-0000-0000-0000-000000000001'),
    'SELECT ars.role_desc FROM sys.dm_hadr_availability_replica_states AS ars\n' +
      "WHERE ars.replica_id = N'b1e2c3d4-0000-0000-0000-000000000001' AND ars.is_local = 1;",
  );
});

void test('the role is primary or secondary as the view says, and unknown otherwise, with why', () => {
  assert.deepEqual(parseReplicaRole([{ role_desc: 'PRIMARY' }]), { role: 'primary' });
  assert.deepEqual(parseReplicaRole([{ ROLE_DESC: 'SECONDARY' }]), { role: 'secondary' });
  assert.deepEqual(parseReplicaRole([{ role_desc: 'RESOLVING' }]), {
    role: 'unknown',
    why: 'sys.dm_hadr_availability_replica_states says RESOLVING',
  });
  assert.deepEqual(parseReplicaRole([]), {
    role: 'unknown',
    why: 'sys.dm_hadr_availability_replica_states has no row for the local replica',
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SourceError } from '../../errors.ts';
import type { SqlExecutor } from './executor.ts';
import { readDatabaseState } from './operations.ts';

const replica = 'B1E2C3D4-0000-0000-0000-000000000001';

/** A session answering the state query with `replicaId`, and the role query with `role`. */
function session(replicaId: string | null, role: () => Record<string, unknown>[]) {
  const asked: string[] = [];
  const answer = (sql: string): Record<string, unknown>[] => {
    asked.push(sql);
    if (sql.includes('FROM sys.databases AS d'))
      return [
        { name: 'Sales', state_desc: 'ONLINE', recovery_model_desc: 'FULL', replica_id: replicaId },
      ];
    if (sql.includes('sys.dm_hadr_availability_replica_states')) return role();
    throw new Error(`unexpected: ${sql}`);
  };
  const exec: SqlExecutor = {
    // A throw in the executor rejects the promise, as a failing query does.
    query: (sql) => new Promise((resolve) => resolve(answer(sql))),
    run: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
  return { exec, asked };
}

void test('outside an availability group the state is read with one query, and no role is asked for', async () => {
  const { exec, asked } = session(null, () => assert.fail('role asked'));
  assert.equal((await readDatabaseState(exec, 'Sales')).availabilityReplica, null);
  assert.equal(asked.length, 1);
});

void test("in an availability group the replica's role is read by a second query", async () => {
  const { exec, asked } = session(replica, () => [{ role_desc: 'PRIMARY' }]);
  assert.deepEqual((await readDatabaseState(exec, 'Sales')).availabilityReplica, {
    id: replica.toLowerCase(),
    role: 'primary',
  });
  assert.match(asked[1] ?? '', new RegExp(`replica_id = N'${replica.toLowerCase()}'`));
});

void test('a role query the server refuses (no VIEW SERVER STATE) leaves the role unknown, and the state read', async () => {
  const denied = new SourceError(
    "[sqlserver:SQL1] SELECT ars.role_desc …: Msg 300, Level 14: VIEW SERVER STATE permission was denied on object 'server', database 'master'.",
  );
  const { exec } = session(replica, () => {
    throw denied;
  });
  const state = await readDatabaseState(exec, 'Sales');
  assert.equal(state.stateDesc, 'ONLINE');
  assert.deepEqual(state.availabilityReplica, {
    id: replica.toLowerCase(),
    role: 'unknown',
    why: `its role was not read: ${denied.message}`,
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SqlExecutor } from './executor.ts';
import { percentCompleteQuery, pollProgress, type RequestProgress } from './progress.ts';

void test('the DMV query targets exactly one session and refuses anything else', () => {
  assert.equal(
    percentCompleteQuery(57),
    'SELECT command, percent_complete, estimated_completion_time FROM sys.dm_exec_requests WHERE session_id = 57;',
  );
  assert.throws(() => percentCompleteQuery(0), RangeError);
  assert.throws(() => percentCompleteQuery(1.5), RangeError);
});

void test('polling reports each sample until the statement is done', async () => {
  const samples = [
    [{ command: 'RESTORE DATABASE ', percent_complete: 12.5, estimated_completion_time: 9000 }],
    [],
    [{ command: 'RESTORE DATABASE', percent_complete: 100, estimated_completion_time: 0 }],
  ];
  const done = new AbortController();
  const queries: string[] = [];
  // A recording stand-in for the second session: the DMV rows a server would return.
  const monitor: SqlExecutor = {
    run: () => Promise.reject(new Error('unused')),
    query: (sql) => {
      queries.push(sql);
      const rows = samples.shift() ?? [];
      if (samples.length === 0) done.abort();
      return Promise.resolve(rows);
    },
    close: () => Promise.resolve(),
  };
  const seen: RequestProgress[] = [];
  await pollProgress(monitor, 61, (p) => seen.push(p), done.signal, 1);
  assert.deepEqual(seen, [{ command: 'RESTORE DATABASE', percent: 12.5, remainingMs: 9000 }]);
  assert.equal(queries.length, 3);
  assert.match(queries[0]!, /session_id = 61;$/);
});

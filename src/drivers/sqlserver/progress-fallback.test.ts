import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { ExecOptions, SqlExecutor } from './executor.ts';
import { withProgressFallback } from './progress-fallback.ts';

/** A stand-in session: BACKUP runs for `ms`, sending the given STATS percentages spread over it. */
function session(ms: number, stats: number[], spid = 57): SqlExecutor & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    async run(sql: string, opts: ExecOptions = {}) {
      for (const percent of stats) {
        await sleep(ms / (stats.length + 1));
        opts.onProgress?.(percent);
      }
      await sleep(ms / (stats.length + 1));
      return { recordsets: [], messages: [] };
    },
    async query(sql: string) {
      await Promise.resolve(); // a query is a round trip, however short
      queries.push(sql);
      if (sql.includes('@@SPID')) return [{ spid }];
      if (sql.includes('sys.dm_exec_requests')) {
        assert.match(sql, /session_id = 57/);
        return [
          { command: 'BACKUP DATABASE', percent_complete: 42.5, estimated_completion_time: 1000 },
        ];
      }
      return [];
    },
    async close() {},
  };
}

describe('progress fallback for BACKUP and RESTORE', () => {
  it('polls percent_complete from a second session when STATS stays silent', async () => {
    const monitor = session(0, []);
    let opened = 0;
    const exec = withProgressFallback(
      session(300, []),
      () => (opened++, Promise.resolve(monitor)),
      {
        quietMs: 50,
        intervalMs: 40,
      },
    );
    const seen: number[] = [];
    await exec.run("BACKUP DATABASE [x] TO URL = N'…' WITH STATS = 5;", {
      onProgress: (p) => seen.push(p),
    });
    assert.equal(opened, 1);
    assert.ok(seen.length >= 2 && seen.every((p) => p === 42.5), JSON.stringify(seen));
    const polls = monitor.queries.length;
    await sleep(120);
    assert.equal(monitor.queries.length, polls, 'polling stops when the statement ends');
  });

  it('leaves the monitor closed while STATS messages keep coming', async () => {
    let opened = 0;
    const exec = withProgressFallback(
      session(300, [10, 20, 30, 40, 50, 60, 70, 80, 90]),
      () => (opened++, Promise.resolve(session(0, []))),
      { quietMs: 100 },
    );
    const seen: number[] = [];
    await exec.run('BACKUP …', { onProgress: (p) => seen.push(p) });
    assert.equal(opened, 0);
    assert.deepEqual(seen, [10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });
});

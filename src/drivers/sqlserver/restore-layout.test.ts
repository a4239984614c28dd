import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  forkA,
  forkB,
  forkedHistory,
  restoredInside23,
} from '../../../test/sqlserver/forked-history.ts';
import { planRestore } from './chain.ts';
import { deviceOf } from './device.ts';
import type { ServerInfo } from './operations.ts';
import { plannedTail } from './restore-layout.ts';

const info: ServerInfo = {
  serverName: 'SQL1',
  productVersion: '16.0.4135.4',
  majorVersion: 16,
  utcOffsetMinutes: 0,
  now: new Date('2017-05-04T08:20:00Z'),
  timeZone: 'UTC',
  dataPath: 'D:\\data\\',
  logPath: 'D:\\log\\',
};

void test('a dry run right after a restore to a point in time plans the tail-log backup across the fork point', () => {
  // Restored inside _23 on fork A, now on fork B, no log backup since: the tail the real run takes
  // starts on fork A where _23 does and crosses into fork B at the fork point.
  const { records } = forkedHistory([]);
  const device = deviceOf('D:\\hbr\\tail-log\\RestoreTimeDiff_log_tail.bak');
  const tail = plannedTail(restoredInside23, records, { kind: 'latest' }, info, device);
  const plan = planRestore([...records, tail], { kind: 'latest' });
  const files = plan.steps.map((s) => s.files.map((f) => f.replace(/^.*\\/, '')).join());
  assert.deepEqual(files, [
    'RestoreTimeDiff.bak',
    'RestoreTimeDiff2.bak', // the differential
    'RestoreTimeDiff_21.trn',
    'RestoreTimeDiff_22.trn',
    'RestoreTimeDiff_log_tail.bak',
  ]);
  // The real tail's header says so: it starts on fork A and enters fork B at the fork point.
  assert.deepEqual(
    [tail.firstRecoveryForkId, tail.recoveryForkId, tail.forkPointLsn],
    [forkA, forkB, 34000000025500001n],
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastCheckpointTxId } from './offline-dump.ts';

test('the newest checkpoint entry of a checkpoint log gives the last committed transaction id', () => {
  const entry = (tx: number) =>
    `\u0001\u00a2Checkpoint triggered by "Database shutdown" @ txId: ${tx}, append index: ${tx}\u0000\u0000`;
  assert.equal(lastCheckpointTxId(Buffer.from(entry(93) + entry(94), 'latin1')), '94');
  assert.equal(lastCheckpointTxId(Buffer.from('no reason text here', 'latin1')), undefined);
  assert.equal(lastCheckpointTxId(undefined), undefined);
});

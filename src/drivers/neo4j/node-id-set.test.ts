import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createNodeIdSet } from './node-id-set.ts';

test('a node id set holds the ids added, of Neo4j 5 shape or any other, and no others', () => {
  const ids = createNodeIdSet();
  const db = '4:0f6e1c2a-1111-2222-3333-444455556666';
  for (const n of [0, 7, 8, 100_000]) ids.add(`${db}:${n}`);
  ids.add('legacy-17');
  ids.add('4:another-database:3');
  for (const n of [0, 7, 8, 100_000]) assert.ok(ids.has(`${db}:${n}`), String(n));
  for (const n of [1, 9, 99_999, 100_001, 10_000_000]) assert.ok(!ids.has(`${db}:${n}`), String(n));
  assert.ok(ids.has('legacy-17'));
  assert.ok(ids.has('4:another-database:3'));
  assert.ok(!ids.has('4:another-database:0'));
  assert.ok(!ids.has(`${db}:x`));
});

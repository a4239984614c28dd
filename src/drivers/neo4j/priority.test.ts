import assert from 'node:assert/strict';
import { getPriority } from 'node:os';
import { test } from 'node:test';
import { lowerOwnPriority } from './priority.ts';

test('lowering the own priority raises the niceness of the process, and the undo puts it back where permitted', () => {
  const before = getPriority(0);
  const restore = lowerOwnPriority(Math.min(before + 5, 19));
  assert.equal(getPriority(0), Math.min(before + 5, 19));
  restore();
  // Raising the priority back needs privileges (root or CAP_SYS_NICE); without them it stays.
  const isRoot = process.getuid?.() === 0;
  if (isRoot) assert.equal(getPriority(0), before);
  else assert.ok(getPriority(0) >= before);
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { getPriority } from 'node:os';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { createStepBack, lowerOwnPriority } from './priority.ts';

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

test('a step back spares the threads named, and stepping forward undoes it', async () => {
  const before = getPriority(0);
  const nice = Math.min(before + 5, 19);
  // A thread of this process that reports its id, as the pipe drains do.
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.postMessage(Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()));
     setInterval(() => {}, 1000);`,
    { eval: true },
  );
  try {
    const [spared] = (await once(worker, 'message')) as [number];
    const step = createStepBack(nice);
    step.back([spared]);
    assert.equal(getPriority(process.pid), nice, 'the main thread steps back');
    assert.equal(getPriority(spared), before, 'the spared thread keeps its priority');
    step.forward();
    // Raising it back needs CAP_SYS_NICE, which root has.
    if (process.getuid?.() === 0) assert.equal(getPriority(process.pid), before);
    else assert.ok(getPriority(process.pid) >= before);
    createStepBack(false).back();
    assert.ok(getPriority(process.pid) <= nice, '`false` never steps back');
  } finally {
    await worker.terminate();
  }
});

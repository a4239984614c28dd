import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tallyPerfScript } from './perf-threads.ts';

// `perf script -F pid,tid,period,ip,sym` of a recording with call chains, cut down: samples of
// 1 ms (cpu-clock periods are nanoseconds), innermost frame first.
const SCRIPT = `
100/100    1000000 
\t    7f01 sha256_block_data_order_shaext
\t    7f02 JS:*storeHeld file:///dist/chunk.js:1:1
\t    7f03 node::Start

100/101    2000000 
\t    7f04 ZSTD_compressBlock_fast
\t    7f05 CCtx::wrapCompress
\t    7f06 node::worker::Worker::Run
\t    7f07 start_thread

100/101    1000000 
\t ffffffff01 pvm_irq_enable
\t ffffffff02 do_syscall_64
\t ffffffff03 __x64_sys_pread64
\t    7f08 __libc_pread

100/102    3000000 
\t ffffffff04 clear_page_erms
\t ffffffff05 asm_exc_page_fault
\t    7f09 v8::internal::compiler::GraphReducer::ReduceTop
\t    7f0a v8::platform::DefaultJobWorker::Run
\t    7f0b node::(anonymous namespace)::PlatformWorkerThread(void*)

100/103    1000000 
\t ffffffff06 pvm_irq_enable
\t ffffffff07 __x64_sys_pwrite64
\t    7f0c uv__fs_work
\t    7f0d worker

100/104    1000000 
\t    7f0e [unknown]
`;

test('CPU time is tallied by kind of thread, from each sample period', () => {
  const tallies = tallyPerfScript(SCRIPT);
  const seconds = Object.fromEntries([...tallies].map(([kind, t]) => [kind, t.seconds]));
  assert.deepEqual(seconds, {
    main: 0.001,
    // The second sample's stack stops in the kernel: its thread was seen to be a worker.
    'codec workers': 0.003,
    'V8 platform': 0.003,
    'libuv pool': 0.001,
    other: 0.001,
  });
  assert.equal(tallies.get('codec workers')?.threads, 1);
});

test('each sample counts for the function it was in, and kernel samples for their way in', () => {
  const tallies = tallyPerfScript(SCRIPT);
  const workers = tallies.get('codec workers');
  assert.deepEqual(
    [...(workers?.self ?? [])],
    [
      ['ZSTD_compressBlock_fast', 0.002],
      ['pvm_irq_enable', 0.001],
    ],
  );
  assert.deepEqual([...(workers?.kernel ?? [])], [['__x64_sys_pread64', 0.001]]);
  assert.deepEqual(
    [...(tallies.get('V8 platform')?.kernel ?? [])],
    [['asm_exc_page_fault', 0.003]],
  );
  assert.deepEqual([...(tallies.get('libuv pool')?.kernel ?? [])], [['__x64_sys_pwrite64', 0.001]]);
  assert.deepEqual([...(tallies.get('main')?.kernel ?? [])], []);
});

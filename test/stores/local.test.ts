import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLocalStore } from '../../src/stores/local.ts';
import { describeStoreContract } from '../contracts/store.ts';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'hbr-local-store-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describeStoreContract(
  'local folder',
  (namespace) => Promise.resolve(createLocalStore({ path: join(root, namespace) })),
  { writers: true },
);

test('a local writer keeps no temporary file once committed or aborted', async () => {
  const path = join(root, 'writer-files');
  const store = createLocalStore({ path });
  const kept = await store.createWriter!();
  await kept.write(randomBytes(1024 * 1024 + 1));
  assert.equal((await readdir(path)).length, 1, 'a temporary file while writing');
  await kept.commit('data/aa/kept');
  const dropped = await store.createWriter!();
  await dropped.write(randomBytes(10));
  await dropped.abort();
  assert.deepEqual(await readdir(path), ['data']);
  assert.deepEqual(await readdir(join(path, 'data', 'aa')), ['kept']);
  assert.equal((await stat(join(path, 'data', 'aa', 'kept'))).size, 1024 * 1024 + 1);
});

test('a local store removes the temporary files crashed writes left, once they are old enough', async () => {
  const path = join(root, 'left-behind');
  const store = createLocalStore({ path });
  await store.put('data/aa/kept', randomBytes(100));
  await mkdir(join(path, 'data', 'aa'), { recursive: true });
  await writeFile(join(path, '.tmp-old-writer'), 'a pack cut short');
  await writeFile(join(path, 'data', 'aa', '.tmp-old-put'), 'an object cut short');
  await writeFile(join(path, 'data', 'aa', '.tmp-recent'), 'a write under way');
  const hoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
  await utimes(join(path, '.tmp-old-writer'), hoursAgo, hoursAgo);
  await utimes(join(path, 'data', 'aa', '.tmp-old-put'), hoursAgo, hoursAgo);
  const olderThan = new Date(Date.now() - 60 * 60 * 1000);
  assert.equal(await store.removeTemporary!({ olderThan }), 2);
  assert.deepEqual(await readdir(path), ['data']);
  assert.deepEqual((await readdir(join(path, 'data', 'aa'))).sort(), ['.tmp-recent', 'kept']);
  assert.equal((await store.get('data/aa/kept')).length, 100);
  assert.equal(await store.removeTemporary!({ olderThan }), 0);
});

/** The paths a process opened and then flushed with fsync, from `strace -f -e trace=openat,fsync`. */
function flushedPaths(trace: string): Set<string> {
  const open = new Map<string, string>(); // fd → path
  const pending = new Map<string, string>(); // pid → path of an unfinished openat
  const flushed = new Set<string>();
  for (const line of trace.split('\n')) {
    const pid = line.split(/\s+/)[0] ?? '';
    const opened = /openat\(AT_FDCWD, "([^"]+)"/.exec(line);
    if (opened?.[1] && line.includes('<unfinished')) pending.set(pid, opened[1]);
    const path = opened?.[1] ?? (line.includes('openat resumed') ? pending.get(pid) : undefined);
    const fd = /\) = (\d+)/.exec(line)?.[1];
    if (path && fd && (opened || line.includes('resumed'))) open.set(fd, path);
    const synced = /fsync\((\d+)/.exec(line)?.[1];
    if (synced && open.has(synced)) flushed.add(open.get(synced) ?? '');
  }
  return flushed;
}

test('a local put into new folders flushes the entry of each new folder in its parent', () => {
  // Without it, a crash soon after may lose data/ab with the pack committed into it, though the
  // pack itself was flushed and an index names it. strace shows the calls; no crash is needed.
  const path = join(root, 'durable-folders');
  const script = join(root, 'put-once.mts');
  const local = fileURLToPath(new URL('../../src/stores/local.ts', import.meta.url));
  const trace = join(root, 'put-once.trace');
  writeFileSync(
    script,
    `import { createLocalStore } from ${JSON.stringify(local)};\n` +
      `await createLocalStore({ path: ${JSON.stringify(path)} }).put('data/ab/pack', Buffer.from('x'));\n`,
  );
  execFileSync('strace', [
    '-f',
    '-e',
    'trace=openat,fsync',
    '-o',
    trace,
    process.execPath,
    '--import',
    'tsx',
    script,
  ]);
  const flushed = flushedPaths(readFileSync(trace, 'utf8'));
  for (const folder of [root, path, join(path, 'data'), join(path, 'data', 'ab')])
    assert.ok(flushed.has(folder), `${folder} flushed (flushed: ${[...flushed].join(', ')})`);
});

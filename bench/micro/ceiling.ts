/**
 * The fastest a backup in hbr's repository format can be on this machine: the CPU time per byte
 * of each step every stored byte must go through (read from the page cache, chunk, keyed hash,
 * zstd level 1, AES-256-GCM, the pack's SHA-256, write into the page cache), each measured alone
 * on one core over the benchmark's own data (`bench/generate.ts`), with the primitives hbr uses
 * (Node's crypto, the zstd binding), summed, and spread perfectly over every core. Nothing real
 * gets there (threads wait for each other, the kernel has its own work); it bounds what any code
 * could do with these steps and primitives. Then `restic backup` of the same
 * folder, best of `--runs`, and the ratio the first-backup target of issue 3 asks for.
 * `node --import tsx bench/micro/ceiling.ts --data DIR [--runs 3] [--sample-mib 256]`
 * @module
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, writeSync, mkdtempSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { createChunker, CHUNKER_PROFILES } from '../../src/repository/chunker.ts';
import { compress } from '../../src/repository/compression.ts';
import { SEAL_OVERHEAD, sealInto } from '../../src/repository/crypto.ts';
import { createGearTable } from '../../src/repository/gear.ts';

const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    runs: { type: 'string', default: '3' },
    'sample-mib': { type: 'string', default: '256' },
  },
});
if (!values.data) throw new Error('--data DIR (a data set from bench/generate.ts) is required');
const dataDir = values.data;
const runs = Number(values.runs);
const sampleBytes = Number(values['sample-mib']) * MiB;

// The sample: the data set's mix of weights and artifacts, in proportion to their sizes.
const files = await _files(dataDir);
const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
const sample = Buffer.allocUnsafe(sampleBytes);
let filled = 0;
for (const file of files) {
  const share = Math.floor((file.size / totalBytes) * sampleBytes);
  if (share === 0) continue;
  const bytes = (await readFile(file.path)).subarray(0, Math.min(share, sampleBytes - filled));
  bytes.copy(sample, filled);
  filled += bytes.length;
  if (filled >= sampleBytes) break;
}
const data = sample.subarray(0, filled);
const key = randomBytes(32);
const aad = Buffer.from('hbr:blob');
const sealed = Buffer.allocUnsafe(CHUNKER_PROFILES.model.max + SEAL_OVERHEAD);
const chunks = _chunks(data);

/**
 * Best-of-5 seconds per byte of `data` for one step: the process's CPU time (zstd runs on the
 * libuv pool), or the wall time when that is longer.
 */
async function perByte(run: () => Promise<void> | void): Promise<number> {
  await run(); // warm-up: first touch of memory, JIT, thread pool
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const before = process.cpuUsage();
    const started = performance.now();
    await run();
    const cpu = process.cpuUsage(before);
    const seconds = Math.max((cpu.user + cpu.system) / 1e6, (performance.now() - started) / 1e3);
    best = Math.min(best, seconds);
  }
  return best / data.length;
}

const scratch = mkdtempSync(join(tmpdir(), 'hbr-ceiling-'));
const readPath = join(scratch, 'read');
_writeAll(readPath, data);
const steps: Record<string, number> = {
  'read (page cache)': await perByte(() => {
    const fd = openSync(readPath, 'r');
    const buffer = Buffer.allocUnsafe(4 * MiB);
    for (let at = 0; readSync(fd, buffer, 0, buffer.length, at) > 0; at += buffer.length);
    closeSync(fd);
  }),
  'chunk (FastCDC)': await perByte(() => {
    const chunker = createChunker(createGearTable(key), CHUNKER_PROFILES.model);
    for (let at = 0; at < data.length; at += 4 * MiB) chunker.push(data.subarray(at, at + 4 * MiB));
    chunker.finish();
  }),
  'blob id (HMAC-SHA-256)': await perByte(() => {
    for (const chunk of chunks) createHmac('sha256', key).update(chunk).digest();
  }),
  'zstd level 1': await perByte(async () => {
    for (const chunk of chunks) await compress(chunk, 1);
  }),
  // As the codec workers seal: in 64 KiB pieces into memory that is reused (`sealInto`).
  'AES-256-GCM': await perByte(() => {
    for (const chunk of chunks) sealInto(key, chunk, aad, sealed);
  }),
  'pack id (SHA-256)': await perByte(() => {
    createHash('sha256').update(data).digest();
  }),
  'write (page cache)': await perByte(() => _writeAll(join(scratch, 'write'), data)),
};
rmSync(scratch, { recursive: true, force: true });

const cores = availableParallelism();
const secondsPerByte = Object.values(steps).reduce((sum, s) => sum + s, 0);
const ceiling = cores / secondsPerByte;

// restic on the same folder, each run into a fresh repository, caches warm.
const resticRates: number[] = [];
for (let i = 0; i < runs; i++) {
  const repo = mkdtempSync(join(tmpdir(), 'hbr-ceiling-restic-'));
  const env = { ...process.env, RESTIC_PASSWORD: 'ceiling' };
  await execa('restic', ['init', '--repo', repo], { env });
  const started = performance.now();
  await execa('restic', ['backup', '-q', '--repo', repo, dataDir], { env });
  resticRates.push(totalBytes / ((performance.now() - started) / 1e3));
  rmSync(repo, { recursive: true, force: true });
}
const restic = Math.max(...resticRates);

const mbs = (rate: number): string => (rate / 1e6).toFixed(0);
console.log(`data: ${dataDir}, ${(totalBytes / 1e9).toFixed(2)} GB; sample ${filled / MiB} MiB`);
console.log('| step | one core, MB/s | CPU ms per GB |');
console.log('| --- | ---: | ---: |');
for (const [step, s] of Object.entries(steps)) {
  console.log(`| ${step} | ${mbs(1 / s)} | ${(s * 1e12).toFixed(0)} |`);
}
console.log(
  `| all steps, one core | ${mbs(1 / secondsPerByte)} | ${(secondsPerByte * 1e12).toFixed(0)} |`,
);
console.log(`| ceiling on ${cores} cores (no waiting, no overhead) | ${mbs(ceiling)} | |`);
console.log(`| restic backup, best of ${runs} | ${mbs(restic)} | |`);
console.log(
  `ceiling / restic: ${(ceiling / restic).toFixed(2)}x (the target asks for 1.5x; ` +
    `1.5x restic would be ${mbs(1.5 * restic)} MB/s)`,
);

// --- helpers ---

async function _files(root: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ path, size: (await stat(path)).size });
  }
  return out;
}

/** The chunks the model profile cuts `bytes` into (views). */
function _chunks(bytes: Buffer): Buffer[] {
  const chunker = createChunker(createGearTable(key), CHUNKER_PROFILES.model);
  const out = chunker.push(bytes).map((c) => Buffer.from(c));
  const last = chunker.finish();
  if (last) out.push(Buffer.from(last));
  return out;
}

function _writeAll(path: string, bytes: Buffer): void {
  const fd = openSync(path, 'w');
  for (let at = 0; at < bytes.length; at += 16 * MiB) {
    writeSync(fd, bytes, at, Math.min(16 * MiB, bytes.length - at));
  }
  closeSync(fd);
}

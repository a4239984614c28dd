/**
 * The fastest a backup, a restore and a `check --read-data` in hbr's repository format can be on
 * this machine: the CPU time per byte of each step every byte must go through, each measured
 * alone on one core over the benchmark's own data (`bench/generate.ts`), with the primitives hbr
 * uses (Node's crypto, the zstd binding), summed per command, and spread perfectly over every
 * core. Backup: read the files, chunk, keyed hash, compress each blob as it is stored (zstd level
 * 1, the repository default, or byte lanes), AES-256-GCM seal, the pack's SHA-256, write the
 * packs. Restore: read the stored bytes, AES-256-GCM open, decompress, keyed hash (the blob id
 * check), write the files. Check: read, the pack's SHA-256, open, decompress, keyed hash. Reading and writing are measured on the data
 * set's own shape (every file of it, opened, read or created and written, closed; the packs as
 * fresh 16 MiB files), since on this VM creating and filling fresh files costs several times what
 * rewriting one warm file does; nothing is deleted until the end (see bench/retire.ts). Nothing
 * real gets there (threads wait for each other, folders have metadata); it bounds what any code
 * could do with these steps and primitives. Beside each ceiling, restic doing the same to the same
 * folder (warm cache) in the same round, and the ratio issue 3's targets ask for.
 * `node --import tsx bench/micro/ceiling.ts --data DIR [--runs 5] [--sample-mib 256] [--out FILE]`;
 * with `--out X.md`, the ratios also go to `X.json`, which `npm run bench` reads to tell a target
 * out of reach (bench/targets.ts).
 * @module
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
  mkdtempSync,
} from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { encodeBlob } from '../../src/repository/blob-codec.ts';
import {
  compressLanes,
  decompressLanes,
  lanesBound,
  sampleLanes,
} from '../../src/repository/byte-lanes.ts';
import { createChunker, CHUNKER_PROFILES } from '../../src/repository/chunker.ts';
import {
  compress,
  compressBound,
  compressInto,
  compressionSample,
  decompressInto,
} from '../../src/repository/compression.ts';
import {
  SEAL_OVERHEAD,
  blobId,
  deriveKeys,
  openInto,
  sealInto,
} from '../../src/repository/crypto.ts';
import { createDirectWrites } from '../../src/util/direct-writes.ts';
import { collectNowAndThen, keepFreedMemory } from '../../src/repository/worker-memory.ts';
import type { CeilingFile } from '../report.ts';
import { retire } from '../retire.ts';
import { median } from '../stats.ts';
import type { CeilingRatios } from '../targets.ts';
import { machineInfo, syncDisks } from '../system.ts';
import { createGearTable } from '../../src/repository/gear.ts';

const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    runs: { type: 'string', default: '5' },
    'sample-mib': { type: 'string', default: '256' },
    out: { type: 'string' },
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
const resticRates = { backup: [] as number[], restore: [] as number[], check: [] as number[] };

/** One step: what runs, per how many bytes (the sample's by default), and untimed set-up. */
interface _Step {
  readonly run: () => Promise<void> | void;
  readonly bytes?: number;
  readonly before?: () => Promise<void> | void;
  /**
   * Counted in CPU time even when the wall time is longer: writes past the page cache wait for
   * the device, which in hbr happens while the workers decode (the device is not the bound: it
   * took 1.4-2.9 GB/s here).
   */
  readonly cpuOnly?: boolean;
}

/**
 * Seconds per byte of each step, once per round after a warm-up (first touch of memory, JIT,
 * the thread pool): the process's CPU time (zstd runs on the libuv pool), or the wall time when
 * that is longer. After the steps of a round, `alsoEachRound` runs (restic), so that each round
 * compares what ran within the same minute or two: the speed of this shared machine drifts by
 * a factor of two and more within an hour, and comparing each tool's best run across that drift
 * compared two different machines.
 */
async function perByteEachRound<K extends string>(
  steps: Record<K, _Step>,
  rounds: number,
  alsoEachRound: () => Promise<void>,
): Promise<Record<K, number[]>> {
  const entries = Object.entries(steps) as [K, _Step][];
  const seconds = Object.fromEntries(entries.map(([name]) => [name, [] as number[]])) as Record<
    K,
    number[]
  >;
  for (let round = 0; round <= rounds; round++) {
    for (const [name, { run, bytes, before, cpuOnly }] of entries) {
      await before?.();
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await run();
      const cpu = process.cpuUsage(cpuBefore);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const took = cpuOnly ? cpuSeconds : Math.max(cpuSeconds, (performance.now() - started) / 1e3);
      if (round > 0) seconds[name].push(took / (bytes ?? data.length));
    }
    if (round > 0) await alsoEachRound();
  }
  return seconds;
}

// The sample as hbr stores it: each chunk in the form the blob codec picks for it (raw, zstd
// level 1 or byte lanes), then sealed; one stored copy of each (as a first backup writes them,
// one after another).
type _Form = 'raw' | 'zstd' | 'lanes';
const stored: { chunk: Buffer; payload: Buffer; form: _Form; tried: number; sealed: Buffer }[] = [];
const codecKeys = deriveKeys(randomBytes(64));
const lanesOut = Buffer.allocUnsafe(lanesBound(CHUNKER_PROFILES.model.max));
for (const chunk of chunks) {
  const codec = encodeBlob(codecKeys, 'data', blobId(codecKeys, chunk), chunk, { level: 1 })
    .encoded[0];
  const form: _Form = codec === 2 ? 'lanes' : codec === 1 ? 'zstd' : 'raw';
  // The lanes the codec tries to compress, as it picks them (from the blob's sample).
  const tried = form === 'lanes' ? sampleLanes(compressionSample(chunk)).tried : 0;
  const payload =
    form === 'zstd'
      ? compress(chunk, 1)
      : form === 'lanes'
        ? Buffer.from(lanesOut.subarray(0, compressLanes(chunk, lanesOut, tried)))
        : chunk;
  const frame = Buffer.allocUnsafe(payload.length + SEAL_OVERHEAD);
  stored.push({
    chunk,
    payload,
    form,
    tried,
    sealed: frame.subarray(0, sealInto(key, payload, aad, frame)),
  });
}
const packed = Buffer.concat(stored.map((b) => b.sealed));

const scratch = mkdtempSync(join(tmpdir(), 'hbr-ceiling-'));
const packPath = join(scratch, 'pack');
_writeAll(packPath, packed);
const readBuffer = Buffer.allocUnsafe(4 * MiB);
const read = (path: string) => {
  const fd = openSync(path, 'r');
  for (let at = 0; readSync(fd, readBuffer, 0, readBuffer.length, at) > 0; at += readBuffer.length);
  closeSync(fd);
};
// Writing: every file created in an empty folder, the previous one retired, not deleted (see
// bench/retire.ts), and everything flushed first (untimed), as the benchmark does before each
// step; from memory that stays warm (the bytes do not matter).
const writeFolder = join(scratch, 'write');
const retired = join(scratch, 'retired');
// As hbr writes: files of 1 MiB and more past the page cache (src/util/direct-writes.ts, with a
// restore's sizes; a pack with the local store's, then `fdatasync`), smaller ones through it.
const writeFresh = (
  files: readonly { path: string; size: number }[],
  how: { pieces: number; perFile: number; sync: boolean },
): _Step => ({
  before: async () => {
    await retire(writeFolder, retired);
    await syncDisks();
  },
  run: async () => {
    const direct = createDirectWrites({ pieces: how.pieces, perFile: how.perFile });
    for (const file of files) {
      const path = join(writeFolder, file.path);
      mkdirSync(dirname(path), { recursive: true });
      const past = file.size >= MiB ? await direct.create(path, 0o600) : undefined;
      if (!past) {
        _writeAll(path, data, file.size);
        continue;
      }
      for (let at = 0; at < file.size; at += 16 * MiB) {
        const length = Math.min(16 * MiB, file.size - at);
        await past.write(data, 0, length, at);
      }
      await past.finish({ sync: how.sync });
    }
  },
  cpuOnly: true,
});
const packs = Array.from({ length: Math.ceil(packed.length / (16 * MiB)) }, (_, i) => ({
  path: `pack-${i}`,
  size: Math.min(16 * MiB, packed.length - i * 16 * MiB),
}));
const treeFiles = files.map((file) => ({ path: relative(dataDir, file.path), size: file.size }));
const opened = Buffer.allocUnsafe(CHUNKER_PROFILES.model.max + SEAL_OVERHEAD);
const compressed = Buffer.allocUnsafe(compressBound(CHUNKER_PROFILES.model.max));
const decompressed = Buffer.allocUnsafe(CHUNKER_PROFILES.model.max);
const perRound = await perByteEachRound(
  {
    read: { run: () => files.forEach((file) => read(file.path)), bytes: totalBytes },
    chunk: {
      run: () => {
        const chunker = createChunker(createGearTable(key), CHUNKER_PROFILES.model);
        for (let at = 0; at < data.length; at += 4 * MiB) {
          chunker.push(data.subarray(at, at + 4 * MiB));
        }
        chunker.finish();
      },
    },
    blobId: {
      run: () => {
        for (const chunk of chunks) createHmac('sha256', key).update(chunk).digest();
      },
    },
    // As the codec workers compress: synchronously, into memory that is reused; each blob in
    // its stored form (the 64 KiB sample a large blob is judged on is not counted).
    compress: {
      run: () => {
        for (const { chunk, form, tried } of stored) {
          if (form === 'zstd') compressInto(chunk, 1, compressed);
          else if (form === 'lanes') compressLanes(chunk, lanesOut, tried);
        }
      },
    },
    // As the codec workers seal: in 64 KiB pieces into memory that is reused (`sealInto`), in
    // their memory regime (src/repository/worker-memory.ts; without it this process's AES-GCM
    // measured at a third to a fifth of what the workers get), as `open` below.
    seal: {
      run: () => {
        for (const chunk of chunks) {
          sealInto(key, chunk, aad, sealed);
          collectNowAndThen(chunk.length);
        }
      },
    },
    packId: { run: () => void createHash('sha256').update(packed).digest() },
    // Per byte of the sample: the packs hold its stored share.
    writePacks: writeFresh(packs, { pieces: 4, perFile: 4, sync: true }),
    writeFiles: {
      ...writeFresh(treeFiles, { pieces: 4, perFile: 2, sync: false }),
      bytes: totalBytes,
    },
    readStored: { run: () => read(packPath) },
    open: {
      run: () => {
        keepFreedMemory();
        for (const blob of stored) {
          openInto(key, blob.sealed, aad, opened, 'blob');
          collectNowAndThen(blob.sealed.length);
        }
      },
    },
    // One call per blob, in turn, into memory that is reused (as the codec workers do).
    decompress: {
      run: () => {
        for (const blob of stored) {
          if (blob.form === 'zstd') decompressInto(blob.payload, decompressed);
          else if (blob.form === 'lanes') {
            decompressLanes(blob.payload, blob.chunk.length, decompressed);
          }
        }
      },
    },
  },
  runs,
  _resticRound,
);
rmSync(scratch, { recursive: true, force: true });

const labels: Record<keyof typeof perRound, string> = {
  read: 'read the files (page cache)',
  chunk: 'chunk (FastCDC)',
  blobId: 'blob id (HMAC-SHA-256)',
  compress: 'compress (zstd level 1 or byte lanes)',
  seal: 'AES-256-GCM seal',
  packId: 'pack id (SHA-256)',
  writePacks: 'write the packs (fresh files)',
  writeFiles: 'write the files (fresh, in their folders)',
  readStored: 'read stored bytes (page cache)',
  open: 'AES-256-GCM open',
  decompress: 'decompress (zstd or byte lanes)',
};
type Step = keyof typeof labels;
const commands: Record<'backup' | 'restore' | 'check', { steps: Step[]; target: number }> = {
  backup: {
    steps: ['read', 'chunk', 'blobId', 'compress', 'seal', 'packId', 'writePacks'],
    target: 1.5,
  },
  restore: { steps: ['readStored', 'open', 'decompress', 'blobId', 'writeFiles'], target: 1.5 },
  check: { steps: ['readStored', 'packId', 'open', 'decompress', 'blobId'], target: 2 },
};

const cores = availableParallelism();

const mbs = (rate: number): string => (rate / 1e6).toFixed(0);
const machine = await machineInfo();
const storedShare = packed.length / data.length;
const command =
  `node --import tsx bench/micro/ceiling.ts --data ${dataDir} --runs ${runs}` +
  ` --sample-mib ${values['sample-mib']}`;
const lines = [
  "# How fast hbr's repository format can be on this machine",
  '',
  `Generated by \`${command}\` on ${new Date().toISOString()}; do not edit by hand.`,
  '',
  `- Machine: ${machine.cpuModel}, ${cores} cores; ${machine.os}, Linux ${machine.kernel}; Node ${machine.node}`,
  `- Data: ${dataDir}, ${(totalBytes / 1e9).toFixed(2)} GB (the benchmark's version 1); sample ${filled / MiB} MiB of it, weights and artifacts in proportion; stored as hbr stores it: ${(100 * storedShare).toFixed(0)} % of its size`,
  `- ${runs} rounds after a warm-up. In each, every step alone on one core, in CPU seconds (zstd`,
  "  runs on the libuv pool: the process's CPU time counts it) per byte of the data set; the",
  "  round's ceiling spreads a command's steps perfectly over all cores, with no waiting and no",
  '  other work (messages, threads); then restic on the same data. The ratio is taken round by',
  "  round (this shared machine's speed drifts by 2x and more within an hour) and its median",
  '  decides. The step tables show medians over the rounds.',
  '- Reads are from the page cache. The files are read as the data set lies (every file',
  '  opened, read, closed); a restore writes every file of it, created in an empty folder; a',
  '  backup writes its packs as fresh 16 MiB files. Writes go as hbr makes them: files of 1 MiB',
  '  and more past the page cache (`O_DIRECT`; packs then `fdatasync`ed), counted in CPU time,',
  '  since the device works while the other steps run; smaller files into the page cache. A',
  '  step that writes fresh files pays for ext4 block allocation (and page cache allocation,',
  '  which rewriting one warm file, what an earlier version of this report measured, does not).',
  "  Nothing is deleted until the end: each round's written files are emptied and moved aside,",
  '  since on ext4 without a journal, files created soon after others were deleted cost several',
  '  times more to create (`bench/micro/recent-deletes.ts`; earlier versions deleted them).',
  `- restic ${(await execa('restic', ['version'])).stdout.split(' ')[1] ?? ''}: \`backup\`, then \`restore latest\` and \`check --read-data\` of that backup, once a round, warm cache, \`sync\` before each.`,
  '',
];
const ratioOf: Partial<Record<keyof typeof commands, number>> = {};
const step = Object.fromEntries(
  Object.entries(perRound).map(([name, values]) => [name, median(values)]),
) as Record<Step, number>;
for (const [name, command] of Object.entries(commands)) {
  const resticOf = resticRates[name as keyof typeof resticRates];
  const ceilingOf = resticOf.map(
    (_, round) => cores / command.steps.reduce((sum, step) => sum + perRound[step][round]!, 0),
  );
  const ratios = ceilingOf.map((ceiling, round) => ceiling / resticOf[round]!);
  const ratio = median(ratios);
  ratioOf[name as keyof typeof commands] = ratio;
  const verdict =
    ratio >= command.target
      ? 'possible in principle'
      : `**impossible here**: even the ceiling is ${ratio.toFixed(2)}x`;
  const secondsPerByte = command.steps.reduce((sum, name) => sum + step[name], 0);
  const restic = median(resticOf);
  lines.push(
    `## ${name}`,
    '',
    '| step | one core, MB/s | CPU ms per GB |',
    '| --- | ---: | ---: |',
    ...command.steps.map(
      (name) => `| ${labels[name]} | ${mbs(1 / step[name])} | ${(step[name] * 1e12).toFixed(0)} |`,
    ),
    `| all steps, one core | ${mbs(1 / secondsPerByte)} | ${(secondsPerByte * 1e12).toFixed(0)} |`,
    `| **ceiling on ${cores} cores** | **${mbs(median(ceilingOf))}** | |`,
    `| restic ${name} | ${mbs(restic)} | |`,
    '',
    `Ceiling / restic, round by round: ${ratios.map((r) => `${r.toFixed(2)}x`).join(', ')}; ` +
      `median **${ratio.toFixed(2)}x**. Issue 3 asks for ${command.target}x: ${verdict}.`,
    '',
  );
}
const report = lines.join('\n');
console.log(report);
if (values.out) {
  writeFileSync(values.out, report);
  const figures: CeilingFile = {
    generatedAt: new Date().toISOString(),
    command,
    ratios: ratioOf as CeilingRatios,
  };
  writeFileSync(values.out.replace(/(\.md)?$/, '.json'), `${JSON.stringify(figures, null, 2)}\n`);
}

// --- helpers ---

/**
 * restic on the same folder, caches warm: a backup into a fresh repository, then a restore and a
 * `check --read-data` of it; each rate into {@link resticRates}.
 */
async function _resticRound(): Promise<void> {
  const repo = mkdtempSync(join(tmpdir(), 'hbr-ceiling-restic-'));
  const target = mkdtempSync(join(tmpdir(), 'hbr-ceiling-restore-'));
  const env = { ...process.env, RESTIC_PASSWORD: 'ceiling' };
  const timed = async (args: string[]): Promise<number> => {
    await syncDisks(); // as the benchmark does before each step
    const started = performance.now();
    await execa('restic', args, { env });
    return totalBytes / ((performance.now() - started) / 1e3);
  };
  try {
    await execa('restic', ['init', '--repo', repo], { env });
    resticRates.backup.push(await timed(['backup', '-q', '--repo', repo, dataDir]));
    resticRates.restore.push(
      await timed(['restore', 'latest', '-q', '--repo', repo, '--target', target]),
    );
    resticRates.check.push(await timed(['check', '-q', '--read-data', '--repo', repo]));
  } finally {
    await retire(repo, retired);
    await retire(target, retired);
  }
}

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

/**
 * Writes `bytes` to a new file in 16 MiB pieces; given a `size`, that many bytes of its first
 * 16 MiB, over and over.
 */
function _writeAll(path: string, bytes: Buffer, size?: number): void {
  const total = size ?? bytes.length;
  const piece = Math.min(16 * MiB, bytes.length);
  const fd = openSync(path, 'w');
  for (let at = 0; at < total; at += piece) {
    writeSync(fd, bytes, size === undefined ? at : 0, Math.min(piece, total - at));
  }
  closeSync(fd);
}

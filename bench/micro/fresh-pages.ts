/**
 * What writing new files costs this machine's kernel, by where the page cache's pages come from.
 * A virtual machine may hand memory the guest freed back to its host (Linux's free page reporting,
 * `/sys/module/page_reporting`); the guest's next touch of such a page then faults in the host,
 * which the guest sees as system time of whatever touched it. A backup writes its packs into new
 * page cache pages, and a restore writes every file into them: what that costs decides part of
 * every comparison in docs/benchmarks.md (restic pays it too).
 *
 * Writes `--mib` MiB as 16 MiB files, each flushed (as a backup's packs are): first into pages
 * freed a moment before (the previous files, just deleted), then into pages freed and left until
 * the machine has reported them (or `--wait-s` passed; where nothing reports, the same as the
 * first), then past the page cache (`O_DIRECT`, from one aligned buffer). Prints the process's
 * CPU seconds per GB written for each.
 * `node --import tsx bench/micro/fresh-pages.ts [--mib 1024] [--dir DIR] [--wait-s 20]`
 * @module
 */
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { timed } from './timed.ts';

const MiB = 1024 * 1024;
const FILE = 16 * MiB;
const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '1024' },
    dir: { type: 'string' },
    'wait-s': { type: 'string', default: '20' },
  },
});
const total = Number(values.mib) * MiB;
const root = mkdtempSync(join(values.dir ?? tmpdir(), 'hbr-fresh-pages-'));
const REPORTED = '/sys/module/page_reporting/parameters/reported_kib';

// One buffer, touched once before anything is timed; a spare block in front to align from.
const memory = Buffer.alloc(FILE + 4096, 7);
const rows: { what: string; wall: number; cpu: number }[] = [];

try {
  rmSync(_write('warm-up', 0), { recursive: true });
  const freed = _write('into pages freed a moment before', 0);
  const before = _reportedKiB();
  rmSync(freed, { recursive: true });
  const waited = await _waitForReport(before, Number(values['wait-s']) * 1000);
  rmSync(_write(`into pages the machine took back (${waited})`, 0), { recursive: true });
  const aligned = _alignedStart();
  if (aligned === undefined) console.log('no O_DIRECT here: the direct row is left out');
  else _write('past the page cache (O_DIRECT)', constants.O_DIRECT ?? 0, aligned);
} finally {
  rmSync(root, { recursive: true, force: true });
}

console.log(`${total / MiB} MiB as ${FILE / MiB} MiB files, each flushed; CPU is the process's`);
console.log('| written | wall s | CPU s | CPU s per GB |');
console.log('| --- | ---: | ---: | ---: |');
for (const row of rows.filter((r) => r.what !== 'warm-up')) {
  const perGB = row.cpu / (total / 1e9);
  console.log(
    `| ${row.what} | ${row.wall.toFixed(2)} | ${row.cpu.toFixed(2)} | ${perGB.toFixed(2)} |`,
  );
}

/**
 * Writes `total` bytes as new files in the folder `what`, timing it into `rows`; returns the
 * folder.
 */
function _write(what: string, flags: number, at = 0): string {
  const folder = join(root, what);
  mkdirSync(folder);
  const time = timed(() => {
    for (let done = 0, i = 0; done < total; done += FILE, i++) {
      const length = Math.min(FILE, total - done);
      const fd = openSync(
        join(folder, `${i}`),
        constants.O_WRONLY | constants.O_CREAT | flags,
        0o600,
      );
      writeSync(fd, memory, at, length);
      fsyncSync(fd);
      closeSync(fd);
    }
  });
  rows.push({ what, ...time });
  return folder;
}

/** KiB the machine has reported freed so far; undefined where it does not report. */
function _reportedKiB(): number | undefined {
  return existsSync(REPORTED) ? Number(readFileSync(REPORTED, 'utf8')) : undefined;
}

/** Waits until most of `total` bytes more are reported freed, at most `limitMs`; says how long. */
async function _waitForReport(before: number | undefined, limitMs: number): Promise<string> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    await sleep(250);
    const now = _reportedKiB();
    if (before !== undefined && now !== undefined && (now - before) * 1024 >= 0.9 * total) {
      return `reported after ${((performance.now() - started) / 1e3).toFixed(1)} s`;
    }
  }
  return before === undefined ? 'nothing reports here' : `not all reported in ${limitMs / 1e3} s`;
}

/**
 * The first offset into `memory` from which the device takes a direct write (JavaScript cannot
 * see addresses: each 16-byte step is tried with one block); undefined when none is taken.
 */
function _alignedStart(): number | undefined {
  const direct = constants.O_DIRECT as number | undefined;
  if (direct === undefined) return undefined;
  const probe = join(root, 'probe');
  const fd = openSync(probe, constants.O_WRONLY | constants.O_CREAT | direct, 0o600);
  try {
    for (let at = 0; at < 4096; at += 16) {
      try {
        writeSync(fd, memory, at, 4096, 0);
        return at;
      } catch {
        // EINVAL: not aligned for this device
      }
    }
    return undefined;
  } finally {
    closeSync(fd);
    rmSync(probe);
  }
}

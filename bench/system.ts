/**
 * The machine side of the benchmark: what it runs on, installing the anchor tools, the page
 * cache (drop or warm) and sizes on disk.
 * @module
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { SourceError } from '../src/errors.ts';

const run = promisify(execFile);

/** The machine a benchmark ran on. */
export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly ramBytes: number;
  readonly kernel: string;
  readonly os: string;
  readonly node: string;
}

/** Describes this machine (CPU model from /proc/cpuinfo, RAM, kernel, distribution). */
export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  return {
    cores: cpus().length,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? '?',
    ramBytes: totalmem(),
    kernel: (await output('uname', ['-r'])).trim(),
    os: /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(osRelease)?.[1] ?? '?',
    node: process.version,
  };
}

/** Runs a command and returns its stdout (stderr appended), or `''` when it cannot run. */
export async function output(file: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(file, args, { maxBuffer: 1 << 20 });
    return stdout + stderr;
  } catch {
    return '';
  }
}

/**
 * Installs the Debian packages whose command is missing (`apt-get update` first, once).
 * Throws {@link SourceError} when apt-get fails, e.g. when not run as root.
 */
export async function ensureCommands(needed: ReadonlyMap<string, string>): Promise<void> {
  const missing: string[] = [];
  for (const [command, pkg] of needed) {
    const found = await output('sh', ['-c', `command -v ${command}`]);
    if (found === '' && !missing.includes(pkg)) missing.push(pkg);
  }
  if (missing.length === 0) return;
  console.log(`[bench] installing ${missing.join(' ')} with apt-get`);
  try {
    await run('apt-get', ['update', '-qq']);
    await run('apt-get', ['install', '-y', '-qq', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (error) {
    throw new SourceError(
      `[bench] apt-get install ${missing.join(' ')} failed: install them by hand or run as root`,
      { cause: error },
    );
  }
}

/** Flushes dirty pages, so that no step pays for the previous one's writes. */
export async function syncDisks(): Promise<void> {
  await run('sync', []);
}

/**
 * Flushes and drops the page cache (`echo 3 > /proc/sys/vm/drop_caches`). Returns false when
 * not permitted (not root, or a container without a writable /proc/sys).
 */
export async function dropCaches(): Promise<boolean> {
  await syncDisks();
  try {
    await run('sh', ['-c', 'echo 3 > /proc/sys/vm/drop_caches']);
    return true;
  } catch {
    return false;
  }
}

/** Reads every file under `dir` once, so that a warm step finds it in the page cache. */
export async function warmTree(dir: string): Promise<void> {
  await run('sh', ['-c', 'find "$1" -type f -print0 | xargs -0 -r cat > /dev/null', 'sh', dir]);
}

/**
 * CPU seconds the whole machine has spent busy since boot (all cores; `/proc/stat`, idle and
 * I/O wait excluded). The difference over a step, minus the step's own CPU time, is what other
 * work took from it.
 */
export async function machineBusySeconds(): Promise<number> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  const fields = (text.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  // USER_HZ is 100 on every Linux architecture Node runs on.
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Apparent size in bytes of everything under `dir` (`du -sb`), 0 when it does not exist. */
export async function diskUsage(dir: string): Promise<number> {
  const text = await output('du', ['-sb', dir]);
  return Number(text.split('\t')[0]) || 0;
}

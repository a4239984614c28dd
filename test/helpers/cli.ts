import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.ts';

/** The hbr entry point, for tests that need a real process (signals, kills, other users). */
export const HBR_BIN = fileURLToPath(new URL('../../bin/hbr.js', import.meta.url));

/** What a command printed and how it ended. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one hbr command line in-process, with its own streams and environment. */
export async function hbr(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const collect = (append: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString('utf8'));
        done();
      },
    });
  const code = await main(args, {
    stdout: collect((s) => (stdout += s)),
    stderr: collect((s) => (stderr += s)),
    env: { PATH: process.env.PATH, ...options.env },
    cwd: options.cwd ?? process.cwd(),
    signal: new AbortController().signal,
    isTTY: false,
  });
  return { code, stdout, stderr };
}

/**
 * Runs hbr as a child process; `prefix` runs it under another command (`setpriv …`,
 * `unshare …`). Without HOME unless `env` gives one: like a command run in-process, it keeps no cache unless
 * the test names a folder (`HBR_CACHE_DIR`), where it left folder memos and copies of Azurite's
 * and S3's objects under the runner's own ~/.cache/hbr, more with every run of the suite.
 */
export function hbrProcess(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; prefix?: readonly string[] } = {},
): { child: ReturnType<typeof spawn>; done: Promise<CliResult> } {
  const [command, ...rest] = [...(options.prefix ?? []), process.execPath, HBR_BIN, ...args];
  const child = spawn(command ?? process.execPath, rest, {
    env: { PATH: process.env.PATH, ...options.env },
    cwd: options.cwd,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }),
    );
  });
  return { child, done };
}

/**
 * A {@link hbrProcess} prefix that runs hbr without root's rights to read, search and write
 * whatever the modes say (the capabilities DAC_OVERRIDE and DAC_READ_SEARCH, and `also`, such as
 * 'fowner'), so that what a test made unreadable stays so as root; nothing for another user, who
 * has no such rights.
 */
export function withoutRootRights(...also: string[]): readonly string[] {
  if (process.getuid?.() !== 0) return [];
  const dropped = ['dac_override', 'dac_read_search', ...also].map((c) => `-${c}`);
  return ['setpriv', `--bounding-set=${dropped.join(',')}`];
}

/** Parses the JSON lines of a `--json` run and returns the one with `messageType: summary`. */
export function summaryOf(result: CliResult): Record<string, unknown> {
  const lines = result.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines.find((l) => l.messageType === 'summary');
  if (!summary) throw new Error(`no summary in output:\n${result.stdout}\n${result.stderr}`);
  return summary;
}

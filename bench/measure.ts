/**
 * Runs one command and measures it: wall time, CPU time (user + system) and peak RSS of the
 * command and every descendant it waited for, read by GNU time from `wait4()`'s rusage.
 * Node cannot do this itself: `process.resourceUsage()` covers only its own process.
 * @module
 */
import { spawn } from 'node:child_process';
import { open, readFile, rm } from 'node:fs/promises';
import { SourceError } from '../src/errors.ts';

/** A command line to run. */
export interface CommandSpec {
  readonly file: string;
  readonly args: readonly string[];
  /** Added to the harness's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** What one command cost. */
export interface Measurement {
  readonly wallSeconds: number;
  readonly userSeconds: number;
  readonly systemSeconds: number;
  /**
   * Largest resident set of any single process of the tree (kernel `ru_maxrss` semantics:
   * concurrent processes of a pipeline are not summed).
   */
  readonly peakRssBytes: number;
}

/** GNU time, from Debian's `time` package. */
export const GNU_TIME = '/usr/bin/time';

/**
 * Runs `command` with stdout and stderr appended to `logPath` and returns its cost. A non-zero
 * `nice` runs it through `nice -n` (negative values need root: they shield the measurement from
 * other work on a shared machine). Throws {@link SourceError} when it exits non-zero or dies by
 * a signal (the message quotes the end of the log); aborting `signal` kills it.
 */
export async function measure(
  command: CommandSpec,
  logPath: string,
  signal: AbortSignal,
  nice = 0,
): Promise<Measurement> {
  const niced = nice === 0 ? [] : ['nice', '-n', String(nice)];
  const statsPath = `${logPath}.time`;
  const log = await open(logPath, 'a');
  const started = performance.now();
  let code: number | null;
  try {
    await log.write(`$ ${command.file} ${command.args.join(' ')}\n`);
    code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        GNU_TIME,
        ['-f', '%e %U %S %M', '-o', statsPath, ...niced, command.file, ...command.args],
        {
          cwd: command.cwd,
          env: { ...process.env, ...command.env },
          stdio: ['ignore', log.fd, log.fd],
          signal,
        },
      );
      child.once('error', reject);
      child.once('close', (exitCode) => resolve(exitCode));
    });
  } finally {
    await log.close();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const stats = await readFile(statsPath, 'utf8').catch(() => '');
  await rm(statsPath, { force: true });
  // With a failure GNU time writes "Command exited with non-zero status N" before the numbers.
  const fields = (stats.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  if (code !== 0 || fields.length !== 4 || fields.some(Number.isNaN)) {
    const tail = (await readFile(logPath, 'utf8')).trimEnd().split('\n').slice(-6).join('\n');
    throw new SourceError(
      `[bench] ${command.file} ${command.args.slice(0, 2).join(' ')}: exit ${code} (log ${logPath})\n${tail}`,
    );
  }
  const [, user = 0, system = 0, maxRssKiB = 0] = fields;
  return { wallSeconds, userSeconds: user, systemSeconds: system, peakRssBytes: maxRssKiB * 1024 };
}

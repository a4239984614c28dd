/**
 * Command-line options of `npm run bench`.
 * @module
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../src/errors.ts';
import type { CacheMode } from './sequence.ts';

/** Parsed options. */
export interface BenchOptions {
  /** Data set scale: 1 is the full ~1.95 GB data set. @default 1 */
  readonly scale: number;
  /** Second, smaller scale at which to repeat one warm run, to show memory stays flat; undefined: none. @default scale / 4 */
  readonly rssScale: number | undefined;
  /** Runs per tool and cache mode. @default 3 */
  readonly runs: number;
  /** Tool ids, in run order. @default all */
  readonly tools: readonly string[];
  /** Scratch folder (data sets, repositories, restores, logs). @default bench/.work */
  readonly work: string;
  readonly cache: readonly CacheMode[];
  /** @default 1 */
  readonly seed: number;
  /** Folder of benchmarks.md and benchmarks.json. @default docs */
  readonly out: string;
  /** Niceness of the measured tools; negative (root only) favours them on a shared machine. @default 0 */
  readonly nice: number;
  /** Only write benchmarks.md again from the benchmarks.json in `out` (after a change to report.ts). */
  readonly render: boolean;
}

/** Short names accepted in `--tools` for several adapters. */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  borg: ['borg-zstd3', 'borg-lz4'],
  tar: ['tar-zstd'],
};

/** Parses argv; throws {@link UsageError} on a bad value or an unknown tool. */
export function parseOptions(argv: string[], known: readonly string[]): BenchOptions {
  const { values } = usage(() =>
    parseArgs({
      args: argv,
      options: {
        scale: { type: 'string', default: '1' },
        'rss-scale': { type: 'string' },
        runs: { type: 'string', default: '3' },
        tools: { type: 'string', default: known.join(',') },
        work: { type: 'string', default: 'bench/.work' },
        cache: { type: 'string', default: 'both' },
        seed: { type: 'string', default: '1' },
        out: { type: 'string', default: 'docs' },
        nice: { type: 'string', default: '0' },
        render: { type: 'boolean', default: false },
      },
    }),
  );
  const scale = positive('--scale', values.scale);
  const rss = values['rss-scale'] === undefined ? scale / 4 : Number(values['rss-scale']);
  const tools = values.tools.split(',').flatMap((t) => ALIASES[t.trim()] ?? [t.trim()]);
  const unknown = tools.filter((t) => !known.includes(t));
  if (unknown.length > 0) {
    throw new UsageError(
      `[bench] unknown tool ${unknown.join(', ')}; known: ${known.join(', ')}, borg, tar`,
    );
  }
  const cache = { warm: ['warm'], cold: ['cold'], both: ['warm', 'cold'] }[values.cache];
  if (cache === undefined) throw new UsageError(`[bench] --cache must be warm, cold or both`);
  return {
    scale,
    rssScale: rss > 0 && rss !== scale ? rss : undefined,
    runs: Math.round(positive('--runs', values.runs)),
    tools: known.filter((t) => tools.includes(t)),
    work: resolve(values.work),
    cache: cache as CacheMode[],
    seed: Math.round(Number(values.seed)),
    out: resolve(values.out),
    nice: Math.round(Number(values.nice)) || 0,
    render: values.render,
  };
}

function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`[bench] ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (!(value > 0)) throw new UsageError(`[bench] ${flag} must be a positive number, not ${text}`);
  return value;
}

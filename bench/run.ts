/**
 * `npm run bench`: generates the data set, runs every tool's sequence in every cache mode
 * the given number of times, and writes docs/benchmarks.md and docs/benchmarks.json.
 * Options: see bench/options.ts (`--scale`, `--runs`, `--tools`, `--work`, `--cache`, ...);
 * `--render` only writes docs/benchmarks.md again from docs/benchmarks.json.
 * @module
 */
import { mkdir, readFile, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../src/errors.ts';
import { assertStillBuilt, ensureBuilt } from './build.ts';
import { summarizeTree } from './data/tree.ts';
import { applyVersion, generateDataset } from './generate.ts';
import { GNU_TIME } from './measure.ts';
import { parseOptions, type BenchOptions } from './options.ts';
import { writeReport, type BenchResults } from './report.ts';
import { removeRetired, retire } from './retire.ts';
import { runSequence, type DatasetHandle, type RunResult, type StepResult } from './sequence.ts';
import { dropCaches, ensureCommands, machineInfo, output } from './system.ts';
import { allTools, type ToolAdapter, type ToolContext } from './tools/index.ts';

const PASSWORD = 'hbr-bench-password';

async function main(): Promise<void> {
  const adapters = allTools();
  const options = parseOptions(
    process.argv.slice(2),
    adapters.map((a) => a.id),
  );
  if (options.render) {
    const json = join(options.out, 'benchmarks.json');
    const saved = JSON.parse(await readFile(json, 'utf8')) as BenchResults;
    await writeReport(saved, join(options.out, 'benchmarks.md'), json);
    log(`rendered ${join(options.out, 'benchmarks.md')} from ${json}`);
    return;
  }
  const tools = options.tools.map((id) => adapters.find((a) => a.id === id) as ToolAdapter);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  const startedAt = new Date().toISOString();
  log(
    `tools ${options.tools.join(', ')}; scale ${options.scale}; ${options.runs} run(s); ${options.cache.join(' + ')} cache`,
  );

  const needed = new Map([
    [GNU_TIME, 'time'],
    ['sync', 'coreutils'],
  ]);
  for (const tool of tools) for (const [cmd, pkg] of tool.commands) needed.set(cmd, pkg);
  await ensureCommands(needed);
  if (options.tools.includes('hbr')) await ensureBuilt(process.cwd(), log);
  await mkdir(join(options.work, 'logs'), { recursive: true });
  // Nothing is deleted while anything is measured (see retire.ts); all of it goes at the end.
  const retired = join(options.work, 'retired');
  const passwordFile = join(options.work, 'password');
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  const context = (tool: ToolAdapter): ToolContext => ({
    repo: join(options.work, 'repo', tool.id),
    cache: join(options.work, 'cache', tool.id),
    passwordFile,
    password: PASSWORD,
    projectRoot: process.cwd(),
  });
  const versions: Record<string, { description: string; version: string }> = {};
  for (const tool of tools) {
    const { file, args } = tool.version(context(tool));
    const version = (await output(file, args)).trim().replaceAll('\n', '; ');
    versions[tool.id] = { description: tool.description, version };
  }

  let modes = options.cache;
  let coldCache = 'dropped before every step (sync; echo 3 > /proc/sys/vm/drop_caches)';
  if (modes.includes('cold') && !(await dropCaches())) {
    coldCache =
      'NOT measured: dropping the page cache is not permitted here (needs root and a writable /proc/sys)';
    modes = modes.filter((m) => m !== 'cold');
    log(coldCache);
  }
  if (!modes.includes('cold'))
    coldCache = coldCache.startsWith('NOT') ? coldCache : 'not requested (--cache warm)';

  const runs: RunResult[] = [];
  const datasets: BenchResults['datasets'][number][] = [];
  const plan = [
    { scale: options.scale, runs: options.runs, modes },
    ...(options.rssScale === undefined
      ? []
      : [{ scale: options.rssScale, runs: 1, modes: ['warm' as const] }]),
  ];
  for (const { scale, runs: count, modes: planModes } of plan) {
    const dataset = await prepareDataset(options, scale, retired);
    datasets.push({ scale, v1: pick(dataset.v1), v2: pick(dataset.v2) });
    for (const cache of planModes) {
      for (let run = 1; run <= count; run++) {
        for (const tool of tools) {
          log(`${cache} cache, scale ${scale}, run ${run}/${count}: ${tool.id}`);
          const result = await runSequence({
            tool,
            ctx: context(tool),
            dataset,
            restoreDir: join(options.work, 'restore'),
            retired,
            logDir: join(options.work, 'logs'),
            cache,
            run,
            nice: options.nice,
            onStep: (step) => log(`  ${describe(step)}`),
            signal: controller.signal,
          });
          if (tool.id === 'hbr') assertStillBuilt(process.cwd());
          if (result.error !== undefined) log(`  FAILED: ${result.error}`);
          if (result.restoreVerified === false) log('  RESTORE DIFFERS from the source');
          runs.push(result);
        }
      }
    }
    await retire(dataset.root, retired);
  }
  log('deleting the retired repositories, restores and data sets');
  await removeRetired(retired);

  const results: BenchResults = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
    commit: (await output('git', ['describe', '--always', '--dirty'])).trim(),
    options: { ...options, tools: options.tools, cache: modes },
    machine: await machineInfo(),
    tools: versions,
    coldCache,
    datasets,
    runs,
  };
  await mkdir(options.out, { recursive: true });
  await writeReport(
    results,
    join(options.out, 'benchmarks.md'),
    join(options.out, 'benchmarks.json'),
  );
  log(`wrote ${join(options.out, 'benchmarks.md')} and benchmarks.json`);
}

// --- internal ---

async function prepareDataset(
  options: BenchOptions,
  scale: number,
  retired: string,
): Promise<DatasetHandle> {
  const root = join(options.work, `data-${scale}`);
  await retire(root, retired);
  const fs = await statfs(options.work);
  // Data set, one repository and one restore at a time, with room to spare.
  const needed = 3.5 * 1.95e9 * scale;
  if (fs.bavail * fs.bsize < needed)
    log(
      `WARNING: ${mb(fs.bavail * fs.bsize)} MB free in ${options.work}, ~${mb(needed)} MB needed`,
    );
  const started = performance.now();
  const spec = await generateDataset(root, options.seed, scale);
  const v1 = await summarizeTree(root);
  await applyVersion(root, spec, 2);
  const v2 = await summarizeTree(root, true);
  await applyVersion(root, spec, 1);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(
    `data set scale ${scale}: ${v1.files} files, ${mb(v1.bytes)} MB (v2 ${v2.files} files, ${mb(v2.bytes)} MB) in ${seconds} s`,
  );
  return { root, spec, v1, v2 };
}

const pick = (t: { files: number; bytes: number }) => ({ files: t.files, bytes: t.bytes });
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

function describe(s: StepResult): string {
  const speed = s.dataBytes > 0 ? `, ${(s.dataBytes / 1e6 / s.wallSeconds).toFixed(1)} MB/s` : '';
  return (
    `${s.step}: ${s.wallSeconds.toFixed(2)} s${speed}, CPU ${(s.userSeconds + s.systemSeconds).toFixed(2)} s, ` +
    `RSS ${mb(s.peakRssBytes)} MB, repo ${mb(s.repoBytes)} MB`
  );
}

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

try {
  await main();
} catch (error) {
  // A usage mistake or a failed install: one line, not a stack trace.
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = error instanceof UsageError ? 2 : 1;
}

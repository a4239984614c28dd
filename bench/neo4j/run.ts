/**
 * The Neo4j benchmark of issue 6: hbr's offline Neo4j backup against a raw
 * `neo4j-admin database dump` on the same graph. Writes `docs/benchmarks-neo4j.md` and `.json`
 * (`docs/benchmarks-neo4j-stream.*` with `--stream`).
 *
 *   node --import tsx bench/neo4j/run.ts [--atoms N] [--runs N] [--payload-uuids N] [--stream]
 *                                        [--work DIR] [--out DIR] [--regenerate] [--keep-running]
 *
 * hbr's source sets `spoolDir` (dumps wait in a spool while the server starts again); `--stream`
 * leaves it out, measuring the default: dumps streamed into the repository while the server is
 * down, no temp file.
 *   node --import tsx bench/neo4j/run.ts --report-from docs/benchmarks-neo4j.json   (Markdown only)
 *
 * Runs its own instance (`HBR_NEO4J_INSTANCE=bench` of scripts/services/neo4j.sh) and reuses its
 * graph when a previous run generated one of the same shape; stops it at the end.
 * @module
 */
import { execa } from 'execa';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openBolt, type BoltOptions } from '../../src/drivers/neo4j/bolt.ts';
import { createNeo4jServer } from '../../src/drivers/neo4j/server.ts';
import { UsageError } from '../../src/errors.ts';
import { diskUsage, machineInfo, output } from '../system.ts';
import { changeOnePercent, countGraph, generate, recordedShape, wipe } from './graph.ts';
import { renderMarkdown, reportName, targets, type NeoResults, type NeoRun } from './report.ts';
import { assertStillBuilt, ensureBuilt } from '../build.ts';
import { hbrBackup, rawDump, type BenchInstance, type HbrRun } from './steps.ts';
import { waitForOtherBenchmarks } from './wait.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/services/neo4j.sh');
const INSTANCE = { HBR_NEO4J_INSTANCE: 'bench' };

const log = (m: string): void =>
  console.log(`[bench:neo4j ${new Date().toISOString().slice(11, 19)}] ${m}`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      atoms: { type: 'string', default: '300000' },
      runs: { type: 'string', default: '3' },
      'payload-uuids': { type: 'string', default: '8' },
      work: { type: 'string', default: join(tmpdir(), 'hbr-bench-neo4j') },
      out: { type: 'string', default: join(ROOT, 'docs') },
      regenerate: { type: 'boolean', default: false },
      'keep-running': { type: 'boolean', default: false },
      stream: { type: 'boolean', default: false },
      'report-from': { type: 'string' },
    },
  });
  const int = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
    return n;
  };
  const shape = {
    atoms: int('atoms', values.atoms),
    payloadUuids: int('payload-uuids', values['payload-uuids']),
  };
  const runs = int('runs', values.runs);
  if (values['report-from'] !== undefined) {
    // Re-renders the Markdown from a results file (after a change to report.ts).
    const saved = JSON.parse(await readFile(values['report-from'], 'utf8')) as NeoResults;
    await writeFile(join(values.out, `${reportName(saved.mode)}.md`), renderMarkdown(saved));
    return;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  const signal = controller.signal;
  const startedAt = new Date().toISOString();
  await ensureBuilt(ROOT, log);

  const env = parseEnv(
    (await execa(SCRIPT, ['start'], { env: INSTANCE, stderr: 'inherit' })).stdout,
  );
  const home = env.NEO4J_HOME ?? '';
  const bolt: BoltOptions = {
    url: env.NEO4J_BOLT_URL ?? '',
    user: env.NEO4J_USER ?? 'neo4j',
    password: env.NEO4J_PASSWORD ?? '',
  };
  const neo: BenchInstance = { home, server: createNeo4jServer({ home, bolt }) };
  try {
    let generationSeconds: number | null = null;
    const driver = openBolt(bolt);
    try {
      const have = await recordedShape(driver);
      if (
        values.regenerate ||
        have?.atoms !== shape.atoms ||
        have.payloadUuids !== shape.payloadUuids
      ) {
        await wipe(driver, log);
        const t0 = performance.now();
        await generate(driver, shape, log, signal);
        generationSeconds = (performance.now() - t0) / 1000;
        log(`graph generated in ${generationSeconds.toFixed(0)} s`);
      } else log('reusing the graph of an earlier run');
    } finally {
      await driver.close();
    }
    const facts = await withDriver(bolt, countGraph);
    const { version, edition } = await neo.server.version();
    // Flush the store so that its size on disk is what the first dump reads.
    await neo.server.stop({ signal });
    const storeBytes =
      (await diskUsage(join(home, 'data/databases/neo4j'))) +
      (await diskUsage(join(home, 'data/transactions/neo4j')));
    await neo.server.start({ signal });
    log(
      `graph: ${facts.nodes} nodes, ${facts.relationships} relationships, store ${(storeBytes / 1e6).toFixed(0)} MB`,
    );

    const results: NeoRun[] = [];
    const hbrVersion = (
      await output('git', ['-C', ROOT, 'describe', '--always', '--dirty'])
    ).trim();
    const machine = await machineInfo();
    const mode = values.stream ? 'stream' : 'spool';
    const name = join(values.out, reportName(mode));
    const reportOf = (): NeoResults => ({
      mode,
      startedAt,
      finishedAt: new Date().toISOString(),
      command: `node --import tsx bench/neo4j/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
      machine,
      versions: { neo4j: version, edition, hbr: hbrVersion, node: process.version },
      graph: {
        ...shape,
        nodes: facts.nodes,
        relationships: facts.relationships,
        storeBytes,
        generationSeconds,
      },
      runs: results,
    });
    await mkdir(values.out, { recursive: true });
    let report = reportOf();
    for (let i = 1; i <= runs; i++) {
      const waitedSeconds = await waitForOtherBenchmarks(log, signal);
      const run = await oneRun(i, neo, bolt, values.work, waitedSeconds, signal, !values.stream);
      assertStillBuilt(ROOT);
      results.push(run);
      // Written after every run: an interrupted benchmark still leaves the finished runs.
      report = reportOf();
      await writeFile(`${name}.json`, `${JSON.stringify(report, null, 2)}\n`);
      await writeFile(`${name}.md`, renderMarkdown(report));
    }
    log(`targets: ${JSON.stringify(targets(report))}`);
    log(`wrote ${name}.md`);
  } finally {
    await rm(values.work, { recursive: true, force: true });
    if (!values['keep-running']) await execa(SCRIPT, ['stop'], { env: INSTANCE, stdio: 'inherit' });
  }
}

/** One run in a fresh repository under `work/run-N`, deleted afterwards. */
async function oneRun(
  index: number,
  neo: BenchInstance,
  bolt: BoltOptions,
  work: string,
  waitedSeconds: number,
  signal: AbortSignal,
  spool: boolean,
): Promise<NeoRun> {
  const dir = join(work, `run-${index}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const loadAverage = loadavg();
  const run: HbrRun = {
    projectRoot: ROOT,
    config: join(dir, 'hbr.yaml'),
    repo: join(dir, 'repo'),
    cache: join(dir, 'cache'),
    source: 'graph',
  };
  await writeFile(join(dir, 'pw'), 'hbr-bench-password\n', { mode: 0o600 });
  if (spool) await mkdir(join(dir, 'spool'));
  await writeFile(
    join(dir, 'neo4j.json'),
    JSON.stringify({ user: bolt.user, password: bolt.password }),
    { mode: 0o600 },
  );
  await writeFile(
    run.config,
    `repository:\n  path: repo\n  passwordFile: pw\nsources:\n  - name: graph\n    neo4j: { home: "${neo.home}", bolt: "${bolt.url}", database: neo4j, credentialFile: neo4j.json${spool ? ', spoolDir: spool' : ''} }\n`,
  );
  await execa(process.execPath, [join(ROOT, 'bin/hbr.js'), 'init', '--config', run.config], {
    env: { XDG_CACHE_HOME: run.cache },
    cancelSignal: signal,
  });
  const logOf = (step: string): string => join(work, `run-${index}-${step}.log`);
  const dumps = join(dir, 'dumps');
  log(`run ${index}: load ${loadAverage.map((l) => l.toFixed(2)).join(' ')}`);
  const raw1 = await rawDump(neo, dumps, logOf('raw1'), signal);
  log(`run ${index}: raw ${raw1.wallSeconds.toFixed(1)} s, dump ${JSON.stringify(raw1.dumpBytes)}`);
  const hbr1 = await hbrBackup(run, logOf('hbr1'), signal);
  log(
    `run ${index}: hbr ${hbr1.wallSeconds.toFixed(1)} s, downtime ${hbr1.downtimeSeconds.toFixed(1)} s, +${hbr1.repoGrowthBytes} B`,
  );
  const hbrUnchanged = await hbrBackup(run, logOf('hbr-unchanged'), signal);
  log(
    `run ${index}: hbr unchanged ${hbrUnchanged.wallSeconds.toFixed(1)} s, +${hbrUnchanged.repoGrowthBytes} B`,
  );
  const changedAtoms = await withDriver(bolt, (d) => changeOnePercent(d, index));
  const raw2 = await rawDump(neo, dumps, logOf('raw2'), signal);
  log(`run ${index}: changed ${changedAtoms} atoms; raw ${raw2.wallSeconds.toFixed(1)} s`);
  const hbr2 = await hbrBackup(run, logOf('hbr2'), signal);
  log(
    `run ${index}: hbr after change ${hbr2.wallSeconds.toFixed(1)} s, +${hbr2.repoGrowthBytes} B`,
  );
  await rm(dir, { recursive: true, force: true });
  return { index, loadAverage, waitedSeconds, changedAtoms, raw1, hbr1, hbrUnchanged, raw2, hbr2 };
}

async function withDriver<T>(
  bolt: BoltOptions,
  f: (d: ReturnType<typeof openBolt>) => Promise<T>,
): Promise<T> {
  const driver = openBolt(bolt);
  try {
    return await f(driver);
  } finally {
    await driver.close();
  }
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

await main();

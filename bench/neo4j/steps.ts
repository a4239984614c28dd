/**
 * The two measured backups of the Neo4j benchmark. Both stop the server the same way (SIGTERM to
 * the pid in `run/neo4j.pid`, then wait until it has exited: what hbr does without a configured
 * stop command), dump `neo4j` and `system`, start it with `bin/neo4j start` and wait until Bolt
 * runs `RETURN 1` (hbr's own poller, `waitForBolt`: every 100 ms). Wall time and downtime run
 * from just before the stop to Bolt answering; CPU and peak RSS are GNU time's (the command and
 * its children: the `neo4j-admin` JVMs and the start bootloader, not the detached server).
 * @module
 */
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SourceError } from '../../src/errors.ts';
import type { Neo4jServer } from '../../src/drivers/neo4j/server.ts';
import { measure } from '../measure.ts';
import { diskUsage, syncDisks } from '../system.ts';

/** What one backup cost. */
export interface BackupStep {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  /** Stop requested → Bolt answering again. */
  readonly downtimeSeconds: number;
  /** Raw: the dump files' sizes by database. */
  readonly dumpBytes?: Readonly<Record<string, number>>;
  /** hbr: repository size on disk after minus before (`du -sb`). */
  readonly repoGrowthBytes?: number;
  /** hbr: the backup's content bytes and the bytes it added (its own summary). */
  readonly storedBytes?: number;
  readonly addedBytes?: number;
}

/** The bench instance. */
export interface BenchInstance {
  readonly home: string;
  readonly server: Neo4jServer;
}

/** `neo4j-admin database dump` of both databases into a fresh `dir`, between a stop and a start. */
export async function rawDump(
  neo: BenchInstance,
  dir: string,
  logPath: string,
  signal: AbortSignal,
): Promise<BackupStep> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await syncDisks();
  const script = [
    'set -e',
    'pid=$(cat "$NEO4J_HOME/run/neo4j.pid")',
    'kill -TERM "$pid"',
    'while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done',
    '"$NEO4J_HOME/bin/neo4j-admin" database dump neo4j --to-path="$1"',
    '"$NEO4J_HOME/bin/neo4j-admin" database dump system --to-path="$1"',
    '"$NEO4J_HOME/bin/neo4j" start',
  ].join('\n');
  const started = performance.now();
  const m = await measure(
    {
      file: 'sh',
      args: ['-c', script, 'raw-dump', dir],
      env: { NEO4J_HOME: neo.home, NEO4J_CONF: join(neo.home, 'conf') },
    },
    logPath,
    signal,
  );
  await neo.server.waitForBolt({ signal });
  const seconds = (performance.now() - started) / 1000;
  const dumpBytes: Record<string, number> = {};
  for (const name of await readdir(dir))
    dumpBytes[name.replace(/\.dump$/, '')] = (await stat(join(dir, name))).size;
  return {
    wallSeconds: seconds,
    cpuSeconds: m.userSeconds + m.systemSeconds,
    peakRssBytes: m.peakRssBytes,
    downtimeSeconds: seconds,
    dumpBytes,
  };
}

/** Where and how to run the hbr CLI. */
export interface HbrRun {
  readonly projectRoot: string;
  readonly config: string;
  readonly repo: string;
  readonly cache: string;
  readonly source: string;
}

/** `hbr backup --source NAME --json` (offline dump mode) into the config's repository. */
export async function hbrBackup(
  run: HbrRun,
  logPath: string,
  signal: AbortSignal,
): Promise<BackupStep> {
  const before = await diskUsage(run.repo);
  await syncDisks();
  const started = performance.now();
  const m = await measure(
    {
      file: process.execPath,
      args: [
        join(run.projectRoot, 'bin/hbr.js'),
        'backup',
        '--source',
        run.source,
        '--config',
        run.config,
        '--json',
        '--no-progress',
      ],
      env: { XDG_CACHE_HOME: run.cache },
    },
    logPath,
    signal,
  );
  const wallSeconds = (performance.now() - started) / 1000;
  const summary = await readSummary(logPath);
  await syncDisks();
  return {
    wallSeconds,
    cpuSeconds: m.userSeconds + m.systemSeconds,
    peakRssBytes: m.peakRssBytes,
    downtimeSeconds: summary.downtimeMs / 1000,
    repoGrowthBytes: (await diskUsage(run.repo)) - before,
    storedBytes: summary.bytes,
    addedBytes: summary.addedBytes,
  };
}

// --- internal ---

interface Summary {
  downtimeMs: number;
  bytes: number;
  addedBytes: number;
}

/** The last `messageType: summary` JSON line of the log (hbr's `--json` output). */
async function readSummary(logPath: string): Promise<Summary> {
  const lines = (await readFile(logPath, 'utf8')).split('\n').filter((l) => l.startsWith('{'));
  for (const line of lines.reverse()) {
    const data = JSON.parse(line) as Partial<Summary> & { messageType?: string };
    if (data.messageType === 'summary' && typeof data.downtimeMs === 'number')
      return {
        downtimeMs: data.downtimeMs,
        bytes: data.bytes ?? 0,
        addedBytes: data.addedBytes ?? 0,
      };
  }
  throw new SourceError(`[bench:neo4j] no backup summary with downtimeMs in ${logPath}`);
}

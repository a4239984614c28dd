import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CEILING_JSON, writeReport, type BenchResults } from './report.ts';
import type { RunResult, StepName, StepResult } from './sequence.ts';
import { median, stepMedians } from './stats.ts';
import { evaluateTargets } from './targets.ts';

const MB = 1e6;

function step(
  name: StepName,
  wallSeconds: number,
  repoBytes: number,
  peakRssBytes = 100 * MB,
): StepResult {
  const dataBytes = 1000 * MB;
  return {
    step: name,
    wallSeconds,
    userSeconds: 1,
    systemSeconds: 0,
    peakRssBytes,
    repoBytes,
    dataBytes,
    othersCpuSeconds: 0,
  };
}

/** A run whose steps take `scale` times the base wall times; repo growth `growth`. */
function run(tool: string, runNo: number, scale: number, growth: number, rss?: number): RunResult {
  return {
    tool,
    cache: 'warm',
    scale: 1,
    run: runNo,
    steps: [
      step('backup-1', 10 * scale, 900 * MB, rss),
      step('backup-unchanged', 2 * scale, 900 * MB, rss),
      step('backup-2', 4 * scale, 900 * MB + growth, rss),
      step('restore', 8 * scale, 900 * MB + growth, rss),
      step('check', 6 * scale, 900 * MB + growth, rss),
    ],
    restoreVerified: true,
  };
}

void describe('benchmark statistics and targets', () => {
  void it('takes the median of odd and even counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  void it('reports medians per tool and step over the runs', () => {
    const rows = stepMedians([
      run('restic', 1, 1, MB),
      run('restic', 2, 2, MB),
      run('restic', 3, 3, MB),
    ]);
    const first = rows.find((r) => r.step === 'backup-1');
    assert.equal(first?.runs, 3);
    assert.equal(first?.wallSeconds, 20);
    assert.equal(first?.throughputMBps, 50);
  });

  void it('pairs runs by number and meets a target only when the median ratio is within bounds', () => {
    // hbr twice as fast as restic in runs 1 and 3, slower in run 2: median ratio 2.
    const runs = [
      run('restic', 1, 1, 50 * MB),
      run('restic', 2, 1, 50 * MB),
      run('restic', 3, 1, 50 * MB),
      run('hbr', 1, 0.5, 40 * MB),
      run('hbr', 2, 1.25, 40 * MB),
      run('hbr', 3, 0.5, 40 * MB),
    ];
    const targets = evaluateTargets(runs, 1, undefined);
    const first = targets.find(
      (t) => t.text.startsWith('first backup') && t.text.endsWith('restic'),
    );
    assert.deepEqual(first?.values, [2, 0.8, 2]);
    assert.equal(first?.met, true);
    const rebackup = targets.find((t) => t.text.startsWith('re-backup'));
    assert.equal(rebackup?.value, 0.5);
    assert.equal(rebackup?.met, true);
    const growth = targets.find((t) => t.text.includes('growth'));
    assert.equal(growth?.value, 0.8);
    assert.equal(targets.find((t) => t.text.includes('borg'))?.met, undefined);
  });

  void it('fails the memory targets when peak RSS exceeds 256 MB or grows with the data', () => {
    const big = [
      run('hbr', 1, 1, MB, 300 * MB),
      { ...run('hbr', 1, 1, MB, 100 * MB), scale: 0.25 },
    ];
    const targets = evaluateTargets(big, 1, 0.25);
    assert.equal(targets.find((t) => t.text.startsWith('peak RSS ≤'))?.met, false);
    // MB as the report prints it: 260 MB is over 256 MB, though under 256 MiB.
    const over = evaluateTargets([run('hbr', 1, 1, MB, 260 * MB)], 1, undefined);
    assert.equal(over.find((t) => t.text.startsWith('peak RSS ≤'))?.met, false);
    assert.equal(targets.find((t) => t.text.startsWith('peak RSS flat'))?.met, false);
    const flat = [
      run('hbr', 1, 1, MB, 110 * MB),
      { ...run('hbr', 1, 1, MB, 100 * MB), scale: 0.25 },
    ];
    const ok = evaluateTargets(flat, 1, 0.25);
    assert.equal(ok.find((t) => t.text.startsWith('peak RSS ≤'))?.met, true);
    assert.equal(ok.find((t) => t.text.startsWith('peak RSS flat'))?.met, true);
  });

  void it('calls a missed target impossible only when the ceiling is below it and above hbr', () => {
    // hbr's check is 1.2x restic's throughput (restic 6 s, hbr 5 s); the target is 2x.
    const runs = [run('restic', 1, 1, MB), run('hbr', 1, 5 / 6, MB)];
    const checkOf = (ceiling?: { backup: number; restore: number; check: number }) =>
      evaluateTargets(runs, 1, undefined, ceiling).find((t) => t.text.startsWith('check'));
    assert.equal(checkOf()?.impossibleAt, undefined, 'no ceiling measured');
    const below = checkOf({ backup: 2.1, restore: 1.1, check: 1.5 });
    assert.equal(below?.met, false);
    assert.equal(below?.impossibleAt, 1.5);
    // A ceiling under hbr's own ratio bounds nothing; one above the target leaves it possible.
    assert.equal(checkOf({ backup: 2.1, restore: 1.1, check: 1.1 })?.impossibleAt, undefined);
    assert.equal(checkOf({ backup: 2.1, restore: 1.1, check: 2.5 })?.impossibleAt, undefined);
    // A ceiling that any run of hbr's beat, here a cold one, bounds nothing, warm or cold.
    const cold = [
      ...runs,
      { ...run('restic', 1, 1, MB), cache: 'cold' as const },
      { ...run('hbr', 1, 1 / 2, MB), cache: 'cold' as const },
    ];
    const beaten = evaluateTargets(cold, 1, undefined, { backup: 2.1, restore: 1.1, check: 1.5 });
    const checks = beaten.filter((t) => t.text.startsWith('check'));
    assert.deepEqual(
      checks.map((t) => [t.cache, Number(t.value.toFixed(2)), t.met, t.impossibleAt]),
      [
        ['warm', 1.2, false, undefined],
        ['cold', 2, true, undefined],
      ],
    );
    // Only throughput targets against restic have a ceiling.
    const all = evaluateTargets(runs, 1, undefined, { backup: 1, restore: 1, check: 1 });
    assert.ok(
      all
        .filter((t) => !/^(first backup|full restore|check)/.test(t.text))
        .every((t) => t.impossibleAt === undefined),
    );
  });

  void it('writes "impossible here" into the report from the ceiling beside it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hbr-report-'));
    try {
      const results: BenchResults = {
        startedAt: '2026-12-03T00:00:00Z',
        finishedAt: '2026-12-03T01:00:00Z',
        command: 'npm run bench',
        commit: 'abc1234',
        options: {
          scale: 1,
          rssScale: undefined,
          runs: 1,
          seed: 1,
          tools: ['hbr', 'restic'],
          cache: ['warm'],
          nice: 0,
        },
        machine: {
          cores: 2,
          cpuModel: 'test',
          ramBytes: 1e9,
          kernel: '6',
          os: 'test',
          node: 'v20',
        },
        tools: {},
        coldCache: 'not used',
        datasets: [],
        runs: [run('restic', 1, 1, MB), run('hbr', 1, 5 / 6, MB)],
      };
      const md = join(dir, 'benchmarks.md');
      await writeReport(results, md, join(dir, 'benchmarks.json'));
      assert.doesNotMatch(await readFile(md, 'utf8'), /impossible here/);
      const ceiling = {
        generatedAt: 'then',
        command: 'ceiling',
        ratios: { backup: 2.1, restore: 1.1, check: 1.5 },
      };
      await writeFile(join(dir, CEILING_JSON), JSON.stringify(ceiling));
      await writeReport(results, md, join(dir, 'benchmarks.json'));
      const rows = (await readFile(md, 'utf8'))
        .split('\n')
        .filter((l) => l.includes('impossible here'));
      assert.equal(rows.length, 1, rows.join('\n'));
      assert.match(
        rows[0] ?? '',
        /^\| check with full data read.*\*\*not met\*\*; \*\*impossible here\*\*: the ceiling is 1\.50 ×/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

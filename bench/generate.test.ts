import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { artifactPath } from './data/artifacts.ts';
import { diffTrees, summarizeTree, type TreeSummary } from './data/tree.ts';
import { applyVersion, generateDataset } from './generate.ts';

// 0.01: 4 MB models of four 1 MiB regions and 200 artifacts, ~20 MB per data set.
const SCALE = 0.01;

void describe('benchmark data set generator', () => {
  let root: string;
  let first: TreeSummary;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'hbr-bench-gen-'));
    await generateDataset(join(root, 'a'), 7, SCALE);
    first = await summarizeTree(join(root, 'a'), true);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  void it('writes the same bytes for the same seed and scale', async () => {
    await generateDataset(join(root, 'b'), 7, SCALE);
    const second = await summarizeTree(join(root, 'b'), true);
    assert.equal(second.files, first.files);
    assert.deepEqual(diffTrees(first, second), []);
  });

  void it('writes different bytes for another seed', async () => {
    await generateDataset(join(root, 'c'), 8, SCALE);
    const other = await summarizeTree(join(root, 'c'), true);
    assert.equal(diffTrees(first, other).length, first.files);
  });

  void it('writes four models and small artifacts of 1 to 50 KB in nested folders', async () => {
    const models = [...first.digests.keys()].filter((path) => path.startsWith('models/'));
    assert.deepEqual(models, [
      'models/base-a-finetuned.bin',
      'models/base-a.bin',
      'models/base-b.bin',
      'models/base-c.bin',
    ]);
    assert.equal(first.files, 4 + 200);
    assert.ok(first.digests.has('artifacts/run-000/epoch-01/metrics-000042.jsonl'));
    const sample = await readFile(join(root, 'a', artifactPath(1)), 'utf8');
    assert.ok(sample.length >= 1024 && sample.length <= 50 * 1024, `size ${sample.length}`);
    assert.doesNotThrow(() => JSON.parse(sample) as unknown);
  });

  void it('fills models with normally distributed float32 weights', async () => {
    const bytes = await readFile(join(root, 'a', 'models/base-b.bin'));
    const weights = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    const mean = weights.reduce((sum, w) => sum + w, 0) / weights.length;
    const sd = Math.sqrt(weights.reduce((sum, w) => sum + (w - mean) ** 2, 0) / weights.length);
    const within = weights.filter((w) => Math.abs(w - mean) < sd).length / weights.length;
    assert.ok(Math.abs(mean) < 0.001, `mean ${mean}`);
    assert.ok(Math.abs(sd - 0.02) < 0.001, `sd ${sd}`);
    assert.ok(Math.abs(within - 0.6827) < 0.01, `share within one sd ${within}`);
  });

  void it('makes the fine-tuned model a shifted copy of its base with a few regions changed', async () => {
    const base = await readFile(join(root, 'a', 'models/base-a.bin'));
    const tuned = await readFile(join(root, 'a', 'models/base-a-finetuned.bin'));
    const inserted = tuned.length - base.length;
    assert.ok(inserted > 0 && inserted < 16, `inserted ${inserted}`);
    // Inserted at 4096; without those bytes, 3 of the 4 regions are the base's.
    const unshifted = Buffer.concat([tuned.subarray(0, 4096), tuned.subarray(4096 + inserted)]);
    const region = 1024 * 1024;
    const same = [0, 1, 2, 3].filter((r) =>
      unshifted
        .subarray(r * region, (r + 1) * region)
        .equals(base.subarray(r * region, (r + 1) * region)),
    );
    assert.equal(same.length, 3);
  });

  void it('changes 1 % of artifacts, adds new ones and one model in version 2, and goes back exactly', async () => {
    const spec = await generateDataset(join(root, 'd'), 7, SCALE);
    await applyVersion(join(root, 'd'), spec, 2);
    const v2 = await summarizeTree(join(root, 'd'), true);
    const changed = diffTrees(first, v2);
    assert.equal(v2.files, first.files + 2);
    assert.equal(changed.length, 2 + 2 + 1);
    assert.ok(changed.includes('models/base-b.bin'));
    await applyVersion(join(root, 'd'), spec, 1);
    assert.deepEqual(diffTrees(first, await summarizeTree(join(root, 'd'), true)), []);
  });
});

/**
 * Generates the benchmark data set (version 1) and switches it between versions 1 and 2 in
 * place, deterministically from a seed and a scale. Also a CLI:
 * `node --import tsx bench/generate.ts --out DIR [--scale 1] [--seed 1] [--version 2]`.
 * @module
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { artifactContent, artifactPath } from './data/artifacts.ts';
import { createRegionFiller, rewriteRegions, writeModel } from './data/models.ts';
import { datasetSpec, type DatasetSpec } from './data/spec.ts';

/** Concurrent small-file writes: hides per-file syscall latency without thrashing. */
const WRITE_CONCURRENCY = 16;

/**
 * Writes version 1 of the data set into `root` (created; must not hold an older data set).
 * Returns the plan, which {@link applyVersion} needs.
 */
export async function generateDataset(
  root: string,
  seed: number,
  scale: number,
): Promise<DatasetSpec> {
  const spec = datasetSpec(seed, scale);
  const filler = createRegionFiller(seed);
  await mkdir(join(root, 'models'), { recursive: true });
  for (const model of spec.models) await writeModel(join(root, model.path), model, filler);
  await writeArtifacts(
    root,
    spec,
    Array.from({ length: spec.artifacts }, (_, i) => i),
    1,
  );
  return spec;
}

/**
 * Turns the data set at `root` into `version` (2: 1 % of artifacts rewritten, new artifacts
 * added, 3 % of one model's regions rewritten; 1: exactly back to the original bytes).
 */
export async function applyVersion(root: string, spec: DatasetSpec, version: 1 | 2): Promise<void> {
  const { changed, added, model, regions } = spec.v2;
  // The model first: the files changed last are the newest, and borg does not remember the
  // newest files in its files cache (race protection), so they should be small ones.
  const filler = createRegionFiller(spec.seed);
  await rewriteRegions(join(root, model.path), model, regions, version, filler);
  await writeArtifacts(root, spec, changed, version);
  const addedIndices = Array.from({ length: added }, (_, i) => spec.artifacts + i);
  if (version === 2) await writeArtifacts(root, spec, addedIndices, 2);
  else await Promise.all(addedIndices.map((i) => rm(join(root, artifactPath(i)), { force: true })));
}

// --- internal ---

async function writeArtifacts(
  root: string,
  spec: DatasetSpec,
  indices: readonly number[],
  version: number,
): Promise<void> {
  const limit = pLimit(WRITE_CONCURRENCY);
  const folders = new Set(indices.map((i) => dirname(join(root, artifactPath(i)))));
  await Promise.all([...folders].map((folder) => mkdir(folder, { recursive: true })));
  await Promise.all(
    indices.map((i) =>
      limit(() => writeFile(join(root, artifactPath(i)), artifactContent(spec.seed, i, version))),
    ),
  );
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      scale: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      version: { type: 'string', default: '1' },
    },
  });
  if (values.out === undefined) throw new Error('[bench:generate] --out DIR is required');
  const started = performance.now();
  const spec = await generateDataset(values.out, Number(values.seed), Number(values.scale));
  if (values.version === '2') await applyVersion(values.out, spec, 2);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`[bench:generate] ${values.out}: version ${values.version} in ${seconds} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) await cli();

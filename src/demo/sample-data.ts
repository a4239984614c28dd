/**
 * A small, deterministic sample of the platform's file storage for `hbr demo`: model-like
 * binary weights (barely compressible), JSON artifacts (compressible) and a config folder.
 * @module
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Sizes of the sample. */
export interface SampleShape {
  readonly models: number;
  readonly modelBytes: number;
  readonly artifacts: number;
}

export const DEFAULT_SAMPLE: SampleShape = {
  models: 3,
  modelBytes: 16 * 1024 * 1024,
  artifacts: 300,
};

/** Writes the sample under `root`; returns the number of files and bytes. */
export async function writeSample(
  root: string,
  shape: SampleShape = DEFAULT_SAMPLE,
): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const put = async (path: string, data: Buffer | string): Promise<void> => {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, data);
    files++;
    bytes += Buffer.byteLength(data);
  };
  for (let m = 0; m < shape.models; m++) {
    await put(join(root, 'models', `model-${m + 1}.safetensors`), weights(shape.modelBytes, m + 1));
  }
  for (let a = 0; a < shape.artifacts; a++) {
    await put(
      join(root, 'artifacts', `run-${Math.floor(a / 50)}`, `artifact-${a}.json`),
      artifact(a, 1),
    );
  }
  await put(
    join(root, 'config', 'platform.yaml'),
    'platform: hartonomous\nprojection: fn_ProjectTo3D\nreplicas: 2\n',
  );
  await put(
    join(root, 'config', 'models.json'),
    JSON.stringify(
      { models: [...Array(shape.models).keys()].map((m) => `model-${m + 1}`) },
      null,
      2,
    ),
  );
  return { files, bytes };
}

/** Changes the sample as a day of work would: a fine-tuned model, edited and new artifacts. */
export async function mutateSample(
  root: string,
  shape: SampleShape = DEFAULT_SAMPLE,
): Promise<{ changed: number; added: number }> {
  const model = join(root, 'models', 'model-1.safetensors');
  const bytes = await readFile(model);
  const region = 1024 * 1024;
  for (let r = 0; r * region < bytes.length; r += 7)
    weights(region, 1000 + r).copy(bytes, r * region); // ~14% of regions
  await writeFile(model, bytes);
  let changed = 1;
  for (let a = 0; a < shape.artifacts; a += 25) {
    await writeFile(
      join(root, 'artifacts', `run-${Math.floor(a / 50)}`, `artifact-${a}.json`),
      artifact(a, 2),
    );
    changed++;
  }
  const added = 20;
  for (let a = 0; a < added; a++) {
    await mkdir(join(root, 'artifacts', 'run-new'), { recursive: true });
    await writeFile(
      join(root, 'artifacts', 'run-new', `artifact-${a}.json`),
      artifact(10_000 + a, 1),
    );
  }
  return { changed, added };
}

// --- internal ---

/** float32 weights, roughly normal (sum of two uniforms) from a seeded xorshift generator. */
function weights(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  const floats = new Float32Array(out.buffer, out.byteOffset, size / 4);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < floats.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    floats[i] = (((x >>> 16) + (x & 0xffff)) / 65536 - 1) * 0.05;
  }
  return out;
}

function artifact(n: number, version: number): string {
  const steps = [...Array(20 + (n % 40)).keys()].map((i) => ({
    step: i,
    loss: Number((1 / (i + 1 + (n % 7))).toFixed(6)),
    atom: `atom-${n}-${i}`,
  }));
  return JSON.stringify(
    { id: `artifact-${n}`, version, model: `model-${(n % 3) + 1}`, steps },
    null,
    2,
  );
}

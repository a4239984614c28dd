/**
 * Writes model files of float32 weights region by region, so that any region can be rewritten
 * later (version 2, and back) without regenerating the file.
 * @module
 */
import { open } from 'node:fs/promises';
import { createNormalFiller, createRng } from './prng.ts';
import { REGION_BYTES, STREAM, type ModelSpec } from './spec.ts';

/** Regions written per `write` call: 8 MiB keeps syscalls few and the buffer cache-friendly. */
const REGIONS_PER_BLOCK = 8;
/** Standard deviation of the weights, typical of initialised/trained layers. */
const SIGMA = 0.02;

/** Fills regions of a model with its values for a given version. */
export interface RegionFiller {
  /** Fills `out` (at most one region) with region `region` of the stream `streamId`. */
  fill(out: Float32Array, streamId: number, region: number, version: number): void;
}

/** Creates the filler of a data set; every model shares one table of normal samples. */
export function createRegionFiller(seed: number): RegionFiller {
  const normal = createNormalFiller(createRng(seed, STREAM.table), SIGMA);
  return {
    fill: (out, streamId, region, version) =>
      normal(createRng(seed, streamId, region, version), out),
  };
}

/** Writes a whole model file (version 1) at `path`. */
export async function writeModel(
  path: string,
  spec: ModelSpec,
  filler: RegionFiller,
): Promise<void> {
  const block = new Float32Array((REGIONS_PER_BLOCK * REGION_BYTES) / 4);
  const bytes = new Uint8Array(block.buffer);
  const file = await open(path, 'w');
  try {
    for (let offset = 0; offset < spec.bytes; offset += bytes.length) {
      const length = Math.min(bytes.length, spec.bytes - offset);
      for (let start = 0; start < length; start += REGION_BYTES) {
        const region = (offset + start) / REGION_BYTES;
        const view = block.subarray(start / 4, Math.min(start + REGION_BYTES, length) / 4);
        const stream = spec.overridden.has(region) ? spec.overrideStreamId : spec.streamId;
        filler.fill(view, stream, region, 1);
      }
      const insert = spec.insert;
      if (insert !== undefined && insert.at >= offset && insert.at < offset + length) {
        const cut = insert.at - offset;
        await file.write(bytes.subarray(0, cut));
        await file.write(insert.bytes);
        await file.write(bytes.subarray(cut, length));
      } else {
        await file.write(bytes.subarray(0, length));
      }
    }
  } finally {
    await file.close();
  }
}

/**
 * Rewrites the given regions of a model in place with their values of `version` (1 restores the
 * original bytes). Only for models without inserted bytes, whose regions sit at fixed offsets.
 */
export async function rewriteRegions(
  path: string,
  spec: ModelSpec,
  regions: readonly number[],
  version: number,
  filler: RegionFiller,
): Promise<void> {
  const buffer = new Float32Array(REGION_BYTES / 4);
  const file = await open(path, 'r+');
  try {
    for (const region of regions) {
      const start = region * REGION_BYTES;
      const view = buffer.subarray(0, Math.min(REGION_BYTES, spec.bytes - start) / 4);
      filler.fill(view, spec.streamId, region, version);
      await file.write(new Uint8Array(view.buffer, 0, view.byteLength), 0, view.byteLength, start);
    }
  } finally {
    await file.close();
  }
}

/**
 * The plan of the benchmark data set, derived only from a seed and a scale: which files exist,
 * how large the models are, and what version 2 changes. Generating bytes is elsewhere.
 * @module
 */
import { createRng, pickDistinct } from './prng.ts';

/** Bytes in one region: the unit in which models are generated, fine-tuned and mutated. */
export const REGION_BYTES = 1024 * 1024;

/** Stream ids that keep the random streams of different purposes apart. */
export const STREAM = {
  table: 1,
  finetune: 2,
  artifact: 3,
  pickFinetune: 4,
  pickV2: 5,
  model: 10,
} as const;

/** One model file: which random stream fills each region and where bytes are inserted. */
export interface ModelSpec {
  /** Path relative to the data set root. */
  readonly path: string;
  readonly bytes: number;
  /** Random stream of the model's unchanged regions. */
  readonly streamId: number;
  /** Regions whose values come from `overrideStreamId` instead (fine-tuned copy). */
  readonly overridden: ReadonlySet<number>;
  readonly overrideStreamId: number;
  /** Bytes inserted at `insertAt` of the written file (they shift everything after). */
  readonly insert?: { readonly at: number; readonly bytes: Uint8Array };
}

/** The whole plan. */
export interface DatasetSpec {
  readonly seed: number;
  readonly scale: number;
  readonly models: readonly ModelSpec[];
  /** Number of small artifacts in version 1 (indices 0..artifacts-1). */
  readonly artifacts: number;
  /** Version 2: artifacts rewritten, artifacts added (new indices), model regions rewritten. */
  readonly v2: {
    readonly changed: readonly number[];
    readonly added: number;
    readonly model: ModelSpec;
    readonly regions: readonly number[];
  };
}

const FULL_MODEL_BYTES = 400_000_000;
const FULL_ARTIFACTS = 20_000;
const FULL_ADDED = 200;
const CHANGED_REGION_SHARE = 0.03;
const CHANGED_ARTIFACT_SHARE = 0.01;

/** Derives the data set plan. At scale 1: ~1.95 GB, four 400 MB models and 20,000 artifacts. */
export function datasetSpec(seed: number, scale: number): DatasetSpec {
  const modelBytes = Math.max(4, Math.floor((FULL_MODEL_BYTES * scale) / 4) * 4);
  const regions = Math.ceil(modelBytes / REGION_BYTES);
  const pickRegions = (streamId: number): number[] =>
    pickDistinct(
      createRng(seed, streamId),
      regions,
      Math.max(1, Math.round(regions * CHANGED_REGION_SHARE)),
    );
  const base = (name: string, i: number): ModelSpec => ({
    path: `models/${name}.bin`,
    bytes: modelBytes,
    streamId: STREAM.model + i,
    overridden: new Set(),
    overrideStreamId: 0,
  });
  const models = [base('base-a', 0), base('base-b', 1), base('base-c', 2)];
  const first = models[0] as ModelSpec;
  const finetuned: ModelSpec = {
    ...first,
    path: 'models/base-a-finetuned.bin',
    overridden: new Set(pickRegions(STREAM.pickFinetune)),
    overrideStreamId: STREAM.finetune,
    insert: { at: Math.min(4096, modelBytes >> 1), bytes: new TextEncoder().encode('ft-v1\n\0') },
  };
  const artifacts = Math.max(10, Math.round(FULL_ARTIFACTS * scale));
  const rng = createRng(seed, STREAM.pickV2);
  const changed = pickDistinct(
    rng,
    artifacts,
    Math.max(1, Math.round(artifacts * CHANGED_ARTIFACT_SHARE)),
  );
  return {
    seed,
    scale,
    models: [...models, finetuned],
    artifacts,
    v2: {
      changed,
      added: Math.max(1, Math.round(FULL_ADDED * scale)),
      model: models[1] as ModelSpec,
      regions: pickRegions(STREAM.pickV2),
    },
  };
}

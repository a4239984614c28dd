/**
 * The small artifacts of the data set: JSON metrics logs, JSON configs and text notes of 1-50 KB
 * in nested folders. Compressible like the real ones (repeated keys, a small vocabulary).
 * @module
 */
import { createRng, type Rng } from './prng.ts';
import { STREAM } from './spec.ts';

const WORDS = (
  'layer attention head weight bias norm embed token batch epoch step loss grad learning rate ' +
  'warmup decay checkpoint shard eval train valid test metric accuracy precision recall score ' +
  'model adapter lora rank alpha dropout hidden size vocab context window optimizer adam beta ' +
  'momentum schedule cosine linear seed run config dataset split sample prompt output label'
).split(' ');
const KINDS = ['metrics', 'config', 'notes'] as const;
const EXTENSIONS = ['jsonl', 'json', 'txt'] as const;
const FILES_PER_FOLDER = 40;
const FOLDERS_PER_RUN = 10;

/** Path of artifact `index`, relative to the data set root: `artifacts/run-NNN/epoch-NN/…`. */
export function artifactPath(index: number): string {
  const folder = Math.floor(index / FILES_PER_FOLDER);
  const run = String(Math.floor(folder / FOLDERS_PER_RUN)).padStart(3, '0');
  const epoch = String(folder % FOLDERS_PER_RUN).padStart(2, '0');
  const kind = index % KINDS.length;
  return `artifacts/run-${run}/epoch-${epoch}/${KINDS[kind]}-${String(index).padStart(6, '0')}.${EXTENSIONS[kind]}`;
}

/** Content of artifact `index` at `version`: 1-50 KB, sizes skewed towards small files. */
export function artifactContent(seed: number, index: number, version: number): Buffer {
  const rng = createRng(seed, STREAM.artifact, index, version);
  const target = 1024 + Math.floor(49 * 1024 * rng.unit() ** 2);
  const line = LINES[index % LINES.length] as (rng: Rng, n: number) => string;
  const parts: string[] = [];
  let size = 0;
  for (let n = 0; size < target; n++) {
    const text = line(rng, n);
    parts.push(text);
    size += text.length;
  }
  const body = parts.join('');
  return Buffer.from(index % KINDS.length === 1 ? `{\n${body}  "end": true\n}\n` : body);
}

// --- internal ---

const word = (rng: Rng): string => WORDS[rng.below(WORDS.length)] as string;
const num = (rng: Rng, digits: number): string => rng.unit().toFixed(digits);

const LINES = [
  (rng: Rng, n: number): string =>
    `{"step":${n * 10},"epoch":${n >> 8},"loss":${num(rng, 5)},"lr":${num(rng, 6)},` +
    `"grad_norm":${num(rng, 4)},"tag":"${word(rng)}"}\n`,
  (rng: Rng, n: number): string =>
    `  "${word(rng)}_${word(rng)}_${n}": ${rng.below(4) === 0 ? `"${word(rng)}"` : num(rng, 4)},\n`,
  (rng: Rng): string => {
    const words = Array.from({ length: 6 + rng.below(10) }, () => word(rng));
    return `${words.join(' ')}.\n`;
  },
];

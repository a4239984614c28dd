/**
 * Writes `chunker-golden.json`. Run once, when the chunking format is created; never again for
 * an existing format (the whole point of the file is that cut points never move):
 * `node --import tsx src/repository/testdata/generate-chunker-golden.ts`
 * @module
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { CHUNKER_PROFILES, createChunker, type ChunkerProfile } from '../chunker.ts';
import { createGearTable } from '../gear.ts';
import { GOLDEN_KEY, goldenInput } from './inputs.ts';

const gear = createGearTable(GOLDEN_KEY);
const vectors = [];
for (const input of [
  'random-16MiB',
  'random-16MiB-insert',
  'text-8MiB',
  'zeros-20MiB',
  'sparse-16MiB',
]) {
  const data = goldenInput(input);
  const sha256 = createHash('sha256').update(data).digest('hex');
  for (const profile of Object.keys(CHUNKER_PROFILES) as ChunkerProfile[]) {
    const chunker = createChunker(gear, CHUNKER_PROFILES[profile]);
    const chunks = chunker.push(data);
    const last = chunker.finish();
    if (last) chunks.push(last);
    let offset = 0;
    vectors.push({ input, sha256, profile, cuts: chunks.map((c) => (offset += c.length)) });
  }
}
const file = new URL('chunker-golden.json', import.meta.url);
writeFileSync(file, JSON.stringify({ key: GOLDEN_KEY.toString('hex'), vectors }, null, 1) + '\n');

/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function, top N.
 * Usage: `node --import tsx bench/profile/summarize.ts FILE.cpuprofile [N]`
 * @module
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, top = '25'] = process.argv.slice(2);
if (!file) {
  console.error('usage: summarize.ts FILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i] ?? -1);
  if (!node) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anon)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = (profile.endTime - profile.startTime) / 1000;
console.log(`total ${total.toFixed(0)} ms`);
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(
    `${(us / 1000).toFixed(0).padStart(7)} ms ${(us / 10 / total).toFixed(1).padStart(5)} %  ${name}`,
  );
}

// Compiles src/ into dist/ (tsconfig.build.json) and stamps the result, so bin/hbr.js can start
// the compiled CLI instead of compiling the TypeScript sources on every run.
// Usage: node scripts/build.js [--prepare]
//   --prepare (npm's prepare hook): a failed compile warns and leaves no stamp, so the install
//   still succeeds and bin/hbr.js keeps running the sources through tsx.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP_FILE } from '../bin/build-stamp.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const prepare = process.argv.includes('--prepare');

// Taken before tsc reads anything: a source edited during the compile is newer than the stamp.
const startedAt = Date.now();
rmSync(join(root, 'dist'), { recursive: true, force: true });
const why = compile();
if (why !== undefined) {
  if (!prepare) {
    console.error(`[build] ${why}`);
    process.exit(1);
  }
  console.warn(`[build] ${why}: no compiled CLI, bin/hbr.js runs the sources through tsx`);
  process.exit(0);
}
writeFileSync(join(root, 'dist', STAMP_FILE), `${JSON.stringify({ startedAt })}\n`);

/** Runs tsc; returns why it failed, or undefined. */
function compile() {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return 'typescript is not installed (dev dependencies omitted?)';
  }
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.error) return `tsc: ${result.error.message}`;
  // 2: type errors, but every file was emitted, and the emitted code is what tsx would run
  // (tsx does not type-check either); `npm run typecheck` is where type errors fail.
  if (result.status === 2) console.warn('[build] compiled despite type errors (see above)');
  else if (result.status !== 0) return `tsc exited with ${result.status ?? result.signal}`;
  return undefined;
}

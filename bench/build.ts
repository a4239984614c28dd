/**
 * The benchmarks measure the bundled CLI in dist/, as users run it. `bin/hbr.js` runs the
 * TypeScript sources through tsx instead when dist/ is older than them (seconds of compiling per
 * command), so a benchmark builds first, and refuses numbers taken after a source changed.
 * @module
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { isBuildFresh } from '../bin/build-stamp.js';

/** Builds dist/ when it is older than the sources. */
export async function ensureBuilt(root: string, log: (message: string) => void): Promise<void> {
  if (isBuildFresh(root)) return;
  log('dist/ is older than the sources: building it (the benchmark measures the bundled CLI)');
  await execa(process.execPath, [join(root, 'scripts/build.js')], { stdio: 'inherit' });
  if (!isBuildFresh(root))
    throw new Error('[bench] dist/ is still older than the sources after a build');
}

/**
 * Throws when a source changed since {@link ensureBuilt}: every hbr command after the change
 * ran from the sources, so the numbers mix two builds.
 */
export function assertStillBuilt(root: string): void {
  if (!isBuildFresh(root)) {
    throw new Error(
      '[bench] a source changed while the benchmark ran: hbr ran from the TypeScript sources ' +
        'after that, so the numbers mix two builds; run the benchmark again',
    );
  }
}

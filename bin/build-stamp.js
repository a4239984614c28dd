// Decides whether the bundled CLI in dist/ matches the TypeScript sources in src/. Plain
// JavaScript, so bin/hbr.js can ask before anything is compiled or registered.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The stamp `scripts/build.js` writes into dist/ after a successful build. */
export const STAMP_FILE = '.hbr-build.json';

/**
 * Whether `root/dist` was built from the current `root/src`: the stamp exists and no source file
 * (tests excepted: they are not bundled), no folder (a file added, removed or renamed), no
 * build setting and no installed package changed at or after the moment the build started. Any doubt answers false, so
 * stale code never runs; the caller then runs the sources through tsx.
 * @param {string} root the project folder (holding src/, dist/, tsconfig*.json)
 * @returns {boolean}
 */
export function isBuildFresh(root) {
  let startedAt;
  try {
    const stamp = JSON.parse(readFileSync(join(root, 'dist', STAMP_FILE), 'utf8'));
    startedAt = stamp.startedAt;
  } catch {
    return false;
  }
  if (typeof startedAt !== 'number') return false;
  try {
    for (const file of INPUTS) {
      const stat = statSync(join(root, file), { throwIfNoEntry: false });
      if (stat !== undefined && stat.mtimeMs >= startedAt) return false;
    }
    return _olderThan(join(root, 'src'), startedAt);
  } catch {
    return false;
  }
}

// --- internal ---

/**
 * Files besides src/ the bundle depends on: the build settings, and the installed packages
 * (npm rewrites node_modules/.package-lock.json on every install, and bundled packages such as
 * zod and commander are copied into dist/).
 */
const INPUTS = [
  'tsconfig.json',
  'tsconfig.build.json',
  'package.json',
  'package-lock.json',
  'node_modules/.package-lock.json',
  'scripts/build.js',
];

/** True when the folder, and everything under it that the build bundles, predates `time`. */
function _olderThan(folder, time) {
  if (statSync(folder).mtimeMs >= time) return false;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (!_olderThan(path, time)) return false;
    } else if (!entry.name.endsWith('.test.ts') && statSync(path).mtimeMs >= time) {
      return false;
    }
  }
  return true;
}

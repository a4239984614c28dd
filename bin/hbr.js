#!/usr/bin/env node
// Starts the bundled CLI (dist/, built by `npm install`/`npm run build`) when it matches the
// sources, else runs the TypeScript sources through tsx: a fresh clone needs only `npm install`,
// and an edited source never runs as stale compiled code.
import { fileURLToPath } from 'node:url';
import { isBuildFresh } from './build-stamp.js';

// The AWS SDK warns once per process that Node 20 is past its support window; hbr supports it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = fileURLToPath(new URL('..', import.meta.url));
let entry;
if (process.env.HBR_FROM_SOURCE !== '1' && isBuildFresh(root)) {
  // Stack traces (HBR_DEBUG) name the TypeScript sources, not the bundle.
  if (process.env.HBR_DEBUG) process.setSourceMapsEnabled(true);
  entry = '../dist/main.js';
  // The key derivation starts before the CLI's own code loads (src/cli/early-unlock.ts).
  const { deriveKeyForCommandLine } = await import('../dist/early-unlock.js');
  void deriveKeyForCommandLine(process.argv.slice(2), process.env, process.cwd());
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = '../src/cli/main.ts';
}
/** @type {{ main: (argv: string[]) => Promise<number>, ExitCode: { interrupted: number } }} */
const { main, ExitCode } = await import(entry);
const code = await main(process.argv.slice(2));
process.exitCode = code;
// A command that ran its course exits once its output is written, not at the end of Node.js's own
// teardown: there no signal handler is left, and a SIGINT or SIGTERM then killed the process, so
// a backup saved and reported looked failed (130) to a shell or a service manager. Not once
// interrupted: an operation no signal cancels may hold a thread of the pool, which
// process.exit would wait for forever (src/cli/main.ts raises the signal again instead).
if (code !== ExitCode.interrupted) {
  const flushed = (stream) => new Promise((resolve) => stream.write('', () => resolve()));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/**
 * Starting a worker thread whose entry is one of our own modules. From the bundle the entry is
 * the `.js` beside the calling chunk (each worker is its own entry in `scripts/build.js`); from
 * TypeScript sources the worker registers tsx itself first, since a worker's entry module is
 * loaded before `--import` hooks apply.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker module `name` (no extension) that sits beside the module at `besideUrl`
 * (the caller's `import.meta.url`).
 */
export function startWorker(name: string, besideUrl: string, options: WorkerOptions): Worker {
  const ts = besideUrl.endsWith('.ts');
  const entry = new URL(`./${name}.${ts ? 'ts' : 'js'}`, besideUrl);
  if (!ts) return new Worker(entry, options);
  const code =
    `import(${JSON.stringify(tsxEsmApi())}).then((api) => { api.register(); ` +
    `return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { ...options, eval: true });
}

// --- internal ---

/**
 * The URL of tsx's ESM API, read from its package exports. Not `import.meta.resolve`: under tsx
 * that call leaves a message port open, which keeps the process alive after its work is done.
 */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  const file = exports['./esm/api']?.import.default ?? './dist/esm/api/index.mjs';
  return new URL(file, pathToFileURL(manifest)).href;
}

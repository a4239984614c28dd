// Bundles the CLI (src/cli/main.ts and everything it imports) into dist/ with esbuild and stamps
// the result, so bin/hbr.js can start compiled code instead of compiling the TypeScript sources
// on every run: one bundle (plus a chunk per lazily loaded command) loads in a fraction of the
// time of ~300 separate modules.
// Usage: node scripts/build.js [--prepare]
//   --prepare (npm's prepare hook): a failed build warns and leaves no stamp, so the install
//   still succeeds and bin/hbr.js keeps running the sources through tsx.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP_FILE } from '../bin/build-stamp.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const prepare = process.argv.includes('--prepare');

/**
 * Packages left to Node's own loader: the SQL Server client (large, loaded only by the commands
 * that need it, and not worth the risk of bundling), and zstd's native addon. neo4j-driver and
 * execa are bundled: a Neo4j backup loads them before its first query, on the path to the stop,
 * and from hundreds of small files they cost about 0.35 s more CPU (measured: 0.39 → 0.13 s for
 * the driver, 0.20 → 0.09 s for execa); they are plain JavaScript. So are the cloud SDKs, bundled
 * too (each into the chunk its store loads): every command on an Azure or S3 repository loaded
 * its SDK before its first request, @azure/storage-blob in 0.34-0.41 s from its files and
 * 0.13 s bundled, the AWS SDK's two packages in 0.24-0.25 s and 0.15 s.
 */
const EXTERNAL = ['zstd-napi', 'lossless-json', 'mssql'];

/**
 * zod's namespace re-exports every locale (`z.locales`, about 370 KB of the 1.1 MB chunk every
 * command loads); hbr only uses English, which zod imports by itself. Its index resolves to an
 * empty module.
 */
const zodWithoutLocales = {
  name: 'zod-without-locales',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[/\\]node_modules[/\\]zod[/\\]/.test(args.importer)
        ? { path: 'zod-locales', namespace: 'hbr-empty' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'hbr-empty' }, () => ({ contents: 'export {};' }));
  },
};

// Taken before anything is read: a source edited during the build is newer than the stamp.
const startedAt = Date.now();
const outdir = join(root, 'dist');
rmSync(outdir, { recursive: true, force: true });
try {
  const { build } = await import('esbuild');
  await build({
    // Each worker is its own entry, started as `./<name>.js` beside the chunk that starts it
    // (src/util/worker.ts).
    entryPoints: {
      main: join(root, 'src', 'cli', 'main.ts'),
      // Loaded by bin/hbr.js before main, to start the key derivation sooner (early-unlock.ts).
      'early-unlock': join(root, 'src', 'cli', 'early-unlock.ts'),
      'codec-worker': join(root, 'src', 'repository', 'codec-worker.ts'),
      'dump-pipe-drain': join(root, 'src', 'drivers', 'neo4j', 'dump-pipe-drain.ts'),
    },
    outdir,
    tsconfig: join(root, 'tsconfig.build.json'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    // ESM builds where a package has one (the AWS SDK's): a CommonJS package loaded with import()
    // from a chunk of its own has its exports only under `default`.
    mainFields: ['module', 'main'],
    target: 'node20',
    sourcemap: true,
    external: EXTERNAL,
    plugins: [zodWithoutLocales],
    // Bundled CommonJS packages (commander) call require(); ESM has none of its own.
    banner: {
      js: "import { createRequire as __hbrRequire } from 'node:module'; const require = __hbrRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
} catch (error) {
  const why = error instanceof Error ? error.message : String(error);
  if (!prepare) {
    console.error(`[build] ${why}`);
    process.exit(1);
  }
  console.warn(`[build] ${why}\n[build] no compiled CLI: bin/hbr.js runs the sources through tsx`);
  process.exit(0);
}
writeFileSync(join(outdir, STAMP_FILE), `${JSON.stringify({ startedAt })}\n`);

#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so a fresh clone needs only `npm install`.
import { register } from 'tsx/esm/api';

// The AWS SDK warns once per process that Node 20 is past its support window; hbr supports it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

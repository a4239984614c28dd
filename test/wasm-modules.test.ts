import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { compileWat, watFiles, wasmModulePath } from '../scripts/wat.ts';

describe('WebAssembly modules', () => {
  it('each .wat under src/ has its module beside it, as it compiles now (`npm run wat`)', async () => {
    const files = watFiles();
    assert.ok(files.length >= 2, 'the byte lanes and the gear scan at least');
    for (const wat of files) {
      const { WASM_BASE64 } = (await import(pathToFileURL(wasmModulePath(wat)).href)) as {
        WASM_BASE64: string;
      };
      assert.ok(Buffer.from(WASM_BASE64, 'base64').equals(await compileWat(wat)), wat);
    }
  });
});

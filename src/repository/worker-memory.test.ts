import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const here = (file: string): string => JSON.stringify(new URL(file, import.meta.url).href);

/**
 * A child process decodes a 64 KiB blob 8,000 times as a check's worker does (its id and key by
 * HMAC, its payload opened by AES-GCM), collecting fully every 64 MiB: by `collectNowAndThen`
 * after `collectFullyToo` (`regime`), or by calling V8's `gc()` itself. Returns how much
 * optimized code V8 threw away because objects it embedded had died ("weak objects").
 */
async function weakObjectDeopts(regime: boolean): Promise<number> {
  const script = `
    import { randomBytes } from 'node:crypto';
    import { SEAL_OVERHEAD, blobId, blobKey, deriveKeys, openInto, sealInto } from ${here('./crypto.ts')};
    import { collectFullyToo, collectNowAndThen } from ${here('./worker-memory.ts')};
    const keys = deriveKeys(randomBytes(32));
    const plaintext = randomBytes(65536);
    const id = blobId(keys, plaintext);
    const aad = Buffer.from('blob');
    const sealed = Buffer.alloc(plaintext.length + SEAL_OVERHEAD);
    sealInto(blobKey(keys, id), plaintext, aad, sealed);
    const out = Buffer.alloc(plaintext.length);
    if (${regime}) collectFullyToo();
    for (let i = 1; i <= 8000; i++) {
      openInto(blobKey(keys, id), sealed, aad, out, 'blob');
      if (!blobId(keys, out).equals(id)) throw new Error('decoded wrong');
      if (${regime}) collectNowAndThen(out.length);
      else if (i % 1024 === 0) gc();
    }`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--trace-deopt', '--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout.match(/reason: weak objects/g)?.length ?? 0;
}

void describe('collectFullyToo', () => {
  void it('keeps the code that decodes blobs optimized across full collections', async () => {
    const [regime, bare] = await Promise.all([weakObjectDeopts(true), weakObjectDeopts(false)]);
    // Without the classes kept, each full collection throws away node:crypto's optimized code
    // (33 times over these 7 collections; through the regime with nothing kept, 30); kept, none.
    assert.ok(bare > 0, `full collections alone deoptimized nothing (${bare}): nothing to prove`);
    assert.equal(regime, 0);
  });
});

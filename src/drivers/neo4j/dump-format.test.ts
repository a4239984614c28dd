import assert from 'node:assert/strict';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import { SourceError } from '../../errors.ts';
import { parseDumpMetadata, unwrapDump, wrapDump, type DumpFormat } from './dump-format.ts';

function sampleContent(): Buffer {
  const meta = Buffer.alloc(24);
  meta.write('zstd', 0, 'latin1');
  meta.writeInt32BE(1, 4);
  meta.writeBigInt64BE(3n, 8);
  meta.writeBigInt64BE(123_456n, 16);
  // No tar: the content is opaque to wrap/unwrap (normalisation only touches PAX headers).
  return Buffer.concat([meta, Buffer.from('x'.repeat(200_000) + 'y'.repeat(1000))]);
}

for (const format of ['DZV1', 'DGV1', 'zstd', 'gzip'] as DumpFormat[]) {
  test(`a ${format} dump rebuilt from its content unwraps to the same content and format`, async () => {
    const content = sampleContent();
    const dump = await buffer(await wrapDump([content], format));
    if (format.startsWith('D')) assert.equal(dump.subarray(0, 4).toString('latin1'), format);
    assert.ok(dump.length < content.length / 10, 'compressed');
    const unwrapped = await unwrapDump([dump], { normalize: false });
    assert.equal(unwrapped.format, format);
    assert.deepEqual(await buffer(unwrapped.content), content);
  });
}

test('the metadata header gives version, file count and byte count', () => {
  assert.deepEqual(parseDumpMetadata(sampleContent()), {
    version: 1,
    fileCount: 3,
    byteCount: 123_456,
  });
  assert.throws(() => parseDumpMetadata(Buffer.from('nope')), SourceError);
});

test('a stream that is not a dump is refused before anything is decompressed', async () => {
  await assert.rejects(
    unwrapDump([Buffer.from('PK\u0003\u0004 a zip')]),
    /not a Neo4j dump: starts with 0x504b0304/,
  );
  await assert.rejects(unwrapDump([Buffer.from('DZ')]), /too short/);
});

test('a corrupted zstd stream fails the content stream', async () => {
  const dump = await buffer(await wrapDump([sampleContent()], 'DZV1'));
  dump.fill(0x41, 12, dump.length - 4);
  const { content } = await unwrapDump([dump], { normalize: false });
  await assert.rejects(buffer(content));
});

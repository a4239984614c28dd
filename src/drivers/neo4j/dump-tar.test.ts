import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import { ENTRY_BOUNDARY, STATE_PAGES_BYTES, normalizeDumpContent } from './dump-tar.ts';

/** A tar block of `type` with a size field; the name is irrelevant to the transform. */
function header(type: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write('./file', 0, 'latin1');
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\u000000', 257, 'latin1');
  return h;
}
function pad(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}
function paxEntry(atime: string, data: Buffer): Buffer {
  const body = Buffer.from(`30 atime=${atime}\n30 mtime=1795317008.2008701\n`, 'latin1');
  return Buffer.concat([header('x', body.length), pad(body), header('0', data.length), pad(data)]);
}
function content(atime: string): Buffer {
  const meta = Buffer.alloc(24);
  meta.write('zstd', 0, 'latin1');
  meta.writeInt32BE(1, 4);
  // File data that itself contains " atime=" must stay untouched.
  const data = Buffer.from('store page bytes 30 atime=123456\n'.repeat(40), 'latin1');
  return Buffer.concat([
    meta,
    paxEntry(atime, data),
    paxEntry(atime, Buffer.alloc(0)),
    Buffer.alloc(1024),
  ]);
}
async function normalize(input: Buffer, chunk: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) parts.push(input.subarray(i, i + chunk));
  return buffer(Readable.from(parts).pipe(normalizeDumpContent()));
}

test('dump contents that differ only in PAX access times normalise to identical bytes of the same length', async () => {
  const a = content('1795316981.7888692');
  const b = content('1795317013.0008703');
  assert.notDeepEqual(a, b);
  const na = await normalize(a, 65536);
  assert.equal(na.length, a.length);
  assert.deepEqual(na, await normalize(b, 65536));
  assert.ok(na.includes(Buffer.from('30 atime=0000000000.0000000\n')));
  assert.ok(na.includes(Buffer.from('30 mtime=1795317008.2008701\n')), 'other times are kept');
  assert.ok(na.includes(Buffer.from('store page bytes 30 atime=123456')), 'file data is untouched');
});

test('normalisation does not depend on how the stream is chunked', async () => {
  const a = content('1795316981.7888692');
  const expected = await normalize(a, a.length);
  for (const size of [1, 7, 511, 512, 513, 4096])
    assert.deepEqual(await normalize(a, size), expected, `chunk ${size}`);
});

/** Splits the marked output at each boundary. */
async function segments(input: Buffer, chunk: number): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) parts.push(input.subarray(i, i + chunk));
  const out: Buffer[][] = [[]];
  for await (const item of Readable.from(parts).pipe(normalizeDumpContent({ markEntries: true })))
    if (item === ENTRY_BOUNDARY) out.push([]);
    else out.at(-1)!.push(item as Buffer);
  return out.map((s) => Buffer.concat(s));
}

test('marked entries: boundaries before each header group, at the data and after the state pages', async () => {
  const meta = content('1').subarray(0, 24);
  const big = Buffer.alloc(STATE_PAGES_BYTES + 4096, 7);
  const input = Buffer.concat([
    meta,
    paxEntry('1', big),
    paxEntry('2', Buffer.from('small')),
    Buffer.alloc(1024),
  ]);
  const expected = await normalize(input, input.length);
  for (const size of [1, 511, 4096, input.length]) {
    const parts = await segments(input, size);
    assert.deepEqual(Buffer.concat(parts), expected, `same bytes, chunk ${size}`);
    assert.deepEqual(
      parts.map((p) => p.length),
      // metadata | PAX header, body, file header | state pages | rest of the file | the same for
      // the small file | its data, padded | each end-of-archive block
      [24, 1536, STATE_PAGES_BYTES, 4096, 1536, 512, 512, 512],
      `chunk ${size}`,
    );
  }
});

test('captured entries hand over the whole data of matching small files, however the stream is chunked', async () => {
  const meta = content('1').subarray(0, 24);
  const log = Buffer.from('x @ txId: 93, y @ txId: 94, end', 'latin1');
  const tar = (path: string, data: Buffer): Buffer => {
    const h = header('0', data.length);
    h.fill(0, 0, 100).write(path, 0, 'latin1');
    return Buffer.concat([h, pad(data)]);
  };
  const input = Buffer.concat([
    meta,
    tar('./neostore', Buffer.alloc(3000, 1)),
    tar('./checkpoint.0', log),
    Buffer.alloc(1024),
  ]);
  for (const size of [1, 100, 512, input.length]) {
    const seen: [string, string][] = [];
    const parts: Buffer[] = [];
    for (let i = 0; i < input.length; i += size) parts.push(input.subarray(i, i + size));
    const capture = {
      match: (path: string) => path.startsWith('./checkpoint.'),
      onEntry: (path: string, data: Buffer) => seen.push([path, data.toString('latin1')]),
    };
    await buffer(Readable.from(parts).pipe(normalizeDumpContent({ capture })));
    assert.deepEqual(seen, [['./checkpoint.0', log.toString('latin1')]], `chunk ${size}`);
  }
});

test('a file whose size is in the PAX size record (0 in the ustar field, as for 8 GiB and more) is passed through as data', async () => {
  const meta = content('1').subarray(0, 24);
  // Data that, read as tar headers, would look like a PAX header holding " atime=".
  const page = header('x', 40);
  page.write(' user text: "log 40 atime=1733490000 ok"\n', 200, 'latin1');
  const data = Buffer.concat([page, Buffer.from('40 atime=1733490000 record kept as-is\n')]);
  const size = ` size=${data.length}\n`;
  const records = `${size.length + 2}${size}`; // a PAX record's length counts its own 2 digits
  assert.equal(records.length, size.length + 2);
  const pax = Buffer.from(`${records}30 atime=1795316981.7888692\n`, 'latin1');
  const log = Buffer.from('x @ txId: 94, end', 'latin1');
  const checkpoint = header('0', log.length);
  checkpoint.fill(0, 0, 100).write('./checkpoint.0', 0, 'latin1');
  const input = Buffer.concat([
    meta,
    header('x', pax.length),
    pad(pax),
    header('0', 0),
    pad(data),
    checkpoint,
    pad(log),
    Buffer.alloc(1024),
  ]);
  const seen: string[] = [];
  const capture = {
    match: (path: string) => path.startsWith('./checkpoint.'),
    onEntry: (_path: string, d: Buffer) => seen.push(d.toString('latin1')),
  };
  const out = await buffer(Readable.from([input]).pipe(normalizeDumpContent({ capture })));
  assert.equal(out.length, input.length);
  assert.ok(out.includes(Buffer.from('30 atime=0000000000.0000000\n')), 'the PAX atime is zeroed');
  assert.ok(out.includes(pad(data)), 'the file data is untouched');
  assert.deepEqual(seen, [log.toString('latin1')], 'the entry after it is still found');
});

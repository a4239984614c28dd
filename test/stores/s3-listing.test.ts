import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { StoreError } from '../../src/errors.ts';
import { createS3Store } from '../../src/stores/s3.ts';

// A fake S3 server whose listing says "more follows" but gives no continuation token, which no
// real server should send; s3proxy cannot be made to do it.
let server: http.Server;
let endpoint = '';

before(async () => {
  server = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/xml' });
    response.end(
      '<?xml version="1.0" encoding="UTF-8"?>' +
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        '<Name>b</Name><Prefix>snapshots/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>' +
        '<IsTruncated>true</IsTruncated>' +
        '<Contents><Key>snapshots/a</Key><Size>3</Size></Contents>' +
        '</ListBucketResult>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
});

void describe('S3 listing', () => {
  void it('fails a truncated listing that has no continuation token instead of ending it', async () => {
    const store = await createS3Store({
      bucket: 'b',
      endpoint,
      pathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const keys: string[] = [];
    await assert.rejects(
      async () => {
        for await (const { key } of store.list('snapshots/')) keys.push(key);
      },
      (error: unknown) => {
        assert.ok(error instanceof StoreError, String(error));
        assert.match(error.message, /continuation token/);
        return true;
      },
    );
    assert.deepEqual(keys, ['snapshots/a']);
    await store.close?.();
  });
});

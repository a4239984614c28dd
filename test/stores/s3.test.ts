import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, S3Client, StorageClass } from '@aws-sdk/client-s3';
import { StoreError } from '../../src/errors.ts';
import { createS3Store, type S3StoreOptions } from '../../src/stores/s3.ts';
import { describeStoreContract } from '../contracts/store.ts';
import { removeS3Bucket, s3Client, s3Credentials, startService } from './services.ts';

const bucket = `hbr-test-${randomBytes(4).toString('hex')}`;
let env: Record<string, string> = {};
let client: S3Client | undefined;

const options = (prefix: string): S3StoreOptions => ({
  bucket,
  prefix,
  endpoint: env.HBR_S3_ENDPOINT,
  region: env.AWS_REGION,
  pathStyle: true,
  credentials: s3Credentials(env),
});

before(async () => {
  env = await startService('s3');
  client = (await s3Client(env)).client;
});
after(async () => {
  client?.destroy();
  await removeS3Bucket(env, bucket);
});

describeStoreContract('S3 (s3proxy, filesystem backend)', (prefix) =>
  createS3Store(options(prefix)),
);

void describe('S3 store', () => {
  void it('uploads objects above the part size as a multipart upload', async () => {
    const store = await createS3Store(options('multipart'));
    const data = randomBytes(17 * 1024 * 1024);
    await store.put('data/aa/big', data);
    const head = await client?.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'multipart/data/aa/big' }),
    );
    // A multipart ETag ends in "-<number of parts>".
    assert.match(head?.ETag ?? '', /-3"$/);
    assert.ok((await store.get('data/aa/big')).equals(data));
    await store.close?.();
  });

  void it('writes each object class in its configured storage class', async () => {
    const store = await createS3Store({
      ...options('classes'),
      storageClasses: { data: StorageClass.STANDARD_IA },
    });
    await store.put('data/00/pack', randomBytes(100));
    await store.put('index/00', randomBytes(100));
    const storageClass = async (key: string) =>
      (await client?.send(new HeadObjectCommand({ Bucket: bucket, Key: key })))?.StorageClass;
    assert.equal(await storageClass('classes/data/00/pack'), 'STANDARD_IA');
    assert.notEqual(await storageClass('classes/index/00'), 'STANDARD_IA');
    await store.close?.();
  });

  void it('fails a delete with a wrong secret as a rejected credential, not as a refused delete', async () => {
    const store = await createS3Store(options('auth'));
    await store.put('locks/x', randomBytes(10));
    const wrong = await createS3Store({
      ...options('auth'),
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: 'not-the-secret' },
    });
    // A DeleteForbiddenError here would be swallowed by lock release, leaving the lock behind.
    await assert.rejects(wrong.delete('locks/x'), (error: unknown) => {
      assert.ok(error instanceof StoreError, String(error));
      assert.equal(error.permanent, true);
      assert.equal(error.status, 403);
      assert.match(error.message, /locks\/x.*SignatureDoesNotMatch.*rejected the credential/);
      return true;
    });
    assert.equal((await store.head('locks/x'))?.size, 10);
    await Promise.all([store.close?.(), wrong.close?.()]);
  });
});

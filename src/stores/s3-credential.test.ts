import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../errors.ts';
import { resolveS3Credentials } from './s3-credential.ts';

const fromFile = (text: string) =>
  resolveS3Credentials({
    env: {},
    credentialFile: '/etc/hbr/s3',
    readFile: () => Promise.resolve(text),
  });

void describe('S3 credentials', () => {
  void it('reads KEY=VALUE lines, with a session token', async () => {
    const text = [
      'export AWS_ACCESS_KEY_ID=AKIAKEY',
      "AWS_SECRET_ACCESS_KEY='secret'",
      'AWS_SESSION_TOKEN=token',
    ].join('\n');
    assert.deepEqual(await fromFile(text), {
      accessKeyId: 'AKIAKEY',
      secretAccessKey: 'secret',
      sessionToken: 'token',
    });
  });

  void it('takes every field from the first profile of an AWS credentials file', async () => {
    const text = [
      '[default]',
      'aws_access_key_id = AKIADEFAULT',
      'aws_secret_access_key = defaultSecret',
      '',
      '[temp-admin]',
      'aws_access_key_id = ASIATEMP',
      'aws_secret_access_key = tempSecret',
      'aws_session_token = TOKEN-OF-TEMP-ADMIN',
    ].join('\n');
    assert.deepEqual(await fromFile(text), {
      accessKeyId: 'AKIADEFAULT',
      secretAccessKey: 'defaultSecret',
      sessionToken: undefined,
    });
  });

  void it('refuses a first profile without a secret rather than borrowing a later one', async () => {
    const text = ['[a]', 'aws_access_key_id = AKIAA', '[b]', 'aws_secret_access_key = bSecret'];
    await assert.rejects(fromFile(text.join('\n')), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /first profile/);
      return true;
    });
  });
});

/**
 * Starting the local Azurite and s3proxy servers from tests, through the project's scripts.
 * @module
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPTS = fileURLToPath(new URL('../../scripts/services/', import.meta.url));

/** The two object-store servers `scripts/services/` can run. */
export type StoreService = 'azurite' | 's3';

/**
 * Runs `scripts/services/<service>.sh <command> [instance]` and returns the variables it prints
 * (`KEY='value'` lines). Throws, failing the calling test, when the script fails.
 */
export async function serviceCommand(
  service: StoreService,
  command: 'start' | 'stop' | 'kill' | 'env' | 'clean',
  instance = 'default',
): Promise<Record<string, string>> {
  const script = `${SCRIPTS}${service}.sh`;
  const { stdout } = await run(script, [command, instance], { timeout: 180_000 }).catch(
    (error: unknown) => {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(
        `${service}.sh ${command} ${instance} failed: ${(error as Error).message}\n${stderr}`,
        { cause: error },
      );
    },
  );
  const vars: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) vars[match[1]] = match[2];
  }
  return vars;
}

/** Starts (or finds running) a service instance and returns its connection variables. */
export function startService(
  service: StoreService,
  instance = 'default',
): Promise<Record<string, string>> {
  return serviceCommand(service, 'start', instance);
}

/** Deletes an Azurite container and everything in it (test clean-up; missing is fine). */
export async function removeAzureContainer(
  env: Record<string, string>,
  name: string,
): Promise<void> {
  const { BlobServiceClient } = await import('@azure/storage-blob');
  await BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING ?? '')
    .getContainerClient(name)
    .deleteIfExists();
}

/** Creates a bucket on s3proxy. */
export async function createS3Bucket(env: Record<string, string>, name: string): Promise<void> {
  const { s3, client } = await s3Client(env);
  try {
    await client.send(new s3.CreateBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
}

/** Deletes an s3proxy bucket and everything in it (test clean-up; missing is fine). */
export async function removeS3Bucket(env: Record<string, string>, name: string): Promise<void> {
  const { s3, client } = await s3Client(env);
  try {
    for (;;) {
      const page = await client.send(new s3.ListObjectsV2Command({ Bucket: name }));
      const keys = (page.Contents ?? []).flatMap((item) =>
        item.Key === undefined ? [] : [item.Key],
      );
      for (const Key of keys) await client.send(new s3.DeleteObjectCommand({ Bucket: name, Key }));
      if (!page.IsTruncated) break;
    }
    await client.send(new s3.DeleteBucketCommand({ Bucket: name }));
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchBucket') throw error;
  } finally {
    client.destroy();
  }
}

/** The credentials of the s3proxy that `env` (from {@link startService}) names. */
export function s3Credentials(env: Record<string, string>): {
  accessKeyId: string;
  secretAccessKey: string;
} {
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
  };
}

/** The AWS SDK, and a client of the s3proxy that `env` (from {@link startService}) names. */
export async function s3Client(env: Record<string, string>) {
  const s3 = await import('@aws-sdk/client-s3');
  const client = new s3.S3Client({
    endpoint: env.HBR_S3_ENDPOINT,
    region: env.AWS_REGION,
    forcePathStyle: true,
    credentials: s3Credentials(env),
  });
  return { s3, client };
}

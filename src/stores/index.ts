/**
 * Stores: where a repository's bytes live. The public surface of `src/stores`.
 * @module
 */
export type {
  ByteRange,
  GetOptions,
  ObjectInfo,
  ObjectWriter,
  PutOptions,
  Store,
  StoreProperties,
} from './types.ts';
export { createLocalStore, type LocalStoreOptions } from './local.ts';
export {
  createAzureBlobStore,
  type AzureAccessTier,
  type AzureBlobStoreOptions,
} from './azure-blob.ts';
export { resolveAzureCredential, type AzureCredential } from './azure-credential.ts';
export { createS3Store, type S3Credentials, type S3StoreOptions } from './s3.ts';
export { resolveS3Credentials } from './s3-credential.ts';
export { withRetry, isTransientStoreError, type RetryEvent, type RetryOptions } from './retry.ts';
export { withLimit } from './limit.ts';
export { openStore, parseLocation, type Location, type OpenStoreOptions } from './location.ts';

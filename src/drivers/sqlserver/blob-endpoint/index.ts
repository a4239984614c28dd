export { startBlobEndpoint } from './server.ts';
export type { BlobEndpoint, BlobEndpointOptions } from './server.ts';
export { createBlobTable } from './blob-table.ts';
export type { BlobTable, BlobTableOptions, CommittedBlob } from './blob-table.ts';

export { artifactRepository } from './artifacts.ts';
export { holdsPath, initRepository, openRepository } from './repository.ts';
export type { BackupFilter, InitOptions, OpenRepository } from './repository.ts';
export { isFailedBackup } from './manifest.ts';
export { startSession } from './session.ts';
export { describeLock } from './locks.ts';
export type { LockInfo } from './locks.ts';
export type { RepositorySession, SmallFileStored } from './session.ts';
export type { StoredContent } from './content.ts';
export type { FileVersion } from './codec-messages.ts';
export { readContent, readContentRange, streamContentRange, writeContents } from './content.ts';
export type { ContentToWrite, PositionalWriter } from './content.ts';
export { addNote, listNotes } from './notes.ts';
export { readForgotten } from './forgotten.ts';
export type { ForgottenEntries, ForgottenRecord } from './forgotten.ts';
export type { Note } from './notes.ts';
export { createByteBudget } from './byte-budget.ts';
export type { ByteBudget } from './byte-budget.ts';
export { planBatches, restoreBatch } from './blob-batch.ts';
export { codecWorkerCount, sharedBuffer, startCodecWorkers } from './codec-pool.ts';
export type { RestoreFile } from './codec-messages.ts';
export type { BatchBlob } from './blob-batch.ts';
export type { Credential } from './keys.ts';
export { openObject, sealObject } from './crypto.ts';
export type { RepositoryKeys } from './crypto.ts';
export { byName } from './tree.ts';
export type { TreeNode } from './tree.ts';
export {
  createCachedTreeReader,
  createTreeReader,
  foldersBelow,
  type FolderAhead,
} from './tree-reader.ts';
export type { TreeReader } from './tree-reader.ts';
export type * from './types.ts';

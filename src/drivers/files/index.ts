export { backupFiles } from './backup.ts';
export type { FilesBackupOptions, FilesBackupResult, FilesProgress } from './backup.ts';
export { restoreFiles } from './restore.ts';
export type { FilesRestoreOptions, FilesRestoreResult } from './restore.ts';
export { diffTrees, listTree } from './browse.ts';
export type { ListedNode, TreeChange } from './browse.ts';
export { RECORDED_FIELDS, recordedByBoth } from './recorded-fields.ts';

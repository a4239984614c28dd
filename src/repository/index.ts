export { artifactRepository } from './artifacts.ts';
export { initRepository, openRepository } from './repository.ts';
export type { InitOptions, OpenRepository } from './repository.ts';
export { startSession } from './session.ts';
export type { RepositorySession } from './session.ts';
export { readContent } from './content.ts';
export type { Credential } from './keys.ts';
export type { TreeNode } from './tree.ts';
export type * from './types.ts';

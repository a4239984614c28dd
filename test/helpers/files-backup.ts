import assert from 'node:assert/strict';
import { sep } from 'node:path';
import { backupFiles, type FilesBackupOptions } from '../../src/drivers/files/index.ts';
import { startSession, type OpenRepository, type TreeNode } from '../../src/repository/index.ts';

/**
 * A files backup of `paths` into `repo`, committed, as the backup command runs one (minus the
 * command): asserts it met no error and returns its root tree.
 */
export async function backUpFiles(
  repo: OpenRepository,
  options: Omit<FilesBackupOptions, 'session' | 'repo'>,
): Promise<string> {
  const session = await startSession(repo);
  const { tree, errors, stats } = await backupFiles({ ...options, session, repo });
  assert.deepEqual(errors, []);
  await session.commitTree(
    tree,
    { source: 'files', kind: 'files', type: 'snapshot', startedAt: new Date() },
    { files: stats.files, bytes: stats.bytes },
  );
  return tree;
}

/** The node at absolute `path` in the backup whose root tree is `tree`. */
export async function nodeAt(
  repo: OpenRepository,
  tree: string,
  path: string,
): Promise<TreeNode | undefined> {
  let node: TreeNode | undefined;
  let subtree: string | undefined = tree;
  for (const name of path.split(sep).filter(Boolean)) {
    node = subtree ? (await repo.readTree(subtree)).find((n) => n.name === name) : undefined;
    subtree = node?.subtree;
  }
  return node;
}

/**
 * The driver-facing view of a repository (`ArtifactRepository`): backups as named artifact
 * streams, written through sessions and read back verified.
 * @module
 */
import { Readable } from 'node:stream';
import { NotFoundError, UsageError } from '../errors.ts';
import { readContent, readContentRange } from './content.ts';
import type { OnLockLeft } from './locks.ts';
import type { OpenRepository } from './repository.ts';
import { startSession } from './session.ts';
import type { TreeNode } from './tree.ts';
import type { ArtifactInfo, ArtifactRepository } from './types.ts';

/**
 * Wraps an open repository for drivers. `onLockLeft` is told when a backup's lock cannot be
 * removed at its end (see `RepositoryLock.release`).
 */
export function artifactRepository(
  repo: OpenRepository,
  options: { onLockLeft?: OnLockLeft } = {},
): ArtifactRepository {
  const artifactNode = async (backupId: string, path: string): Promise<TreeNode> => {
    const backup = await repo.findBackup(backupId);
    const node = (await repo.readTree(backup.tree)).find((n) => n.name === path);
    if (!node || node.type !== 'file') {
      throw new NotFoundError(`backup ${backup.shortId} has no artifact ${path}`);
    }
    return node;
  };

  return {
    startBackup: (opts) => startSession(repo, { ...opts, onLockLeft: options.onLockLeft }),
    listBackups: (options) => repo.backups(options?.signal),
    findBackup: (ref, options) => repo.findBackup(ref, options),
    async listArtifacts(backupId): Promise<ArtifactInfo[]> {
      const backup = await repo.findBackup(backupId);
      return (await repo.readTree(backup.tree))
        .filter((n) => n.type === 'file')
        .map((n) => ({ path: n.name, size: n.size ?? 0, sha256: n.sha256 ?? '' }));
    },
    openArtifact(backupId, path, options = {}) {
      async function* stream(): AsyncGenerator<Buffer> {
        const node = await artifactNode(backupId, path);
        yield* readContent(
          repo,
          { content: node.content ?? [], sha256: node.sha256, size: node.size },
          { signal: options.signal, what: `artifact ${path} of backup ${backupId.slice(0, 8)}` },
        ) as AsyncIterable<Buffer>;
      }
      return Readable.from(stream(), { objectMode: false, highWaterMark: 1 });
    },
    async readArtifactRange(backupId, path, offset, length, options = {}) {
      const node = await artifactNode(backupId, path);
      const size = node.size ?? 0;
      if (offset < 0 || length < 0 || offset + length > size) {
        throw new UsageError(`range ${offset}+${length} is outside ${path} (${size} bytes)`);
      }
      return readContentRange(repo, node.content ?? [], offset, length, {
        what: `artifact ${path}`,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    },
  };
}

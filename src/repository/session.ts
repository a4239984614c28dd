/**
 * Backup sessions: the one way data enters the repository. A session holds a shared lock,
 * saves content and trees through a blob saver, and commits by flushing packs, then the index,
 * then the manifest — so a crash at any point leaves no manifest that points at missing data.
 * @module
 */
import { hostname } from 'node:os';
import { UsageError } from '../errors.ts';
import { createBlobSaver, type BlobSaver, type SaverStats } from './blob-saver.ts';
import { createChunker, type ChunkerProfile } from './chunker.ts';
import { createGearScanner } from './gear-scan.ts';
import type { FileVersion } from './codec-messages.ts';
import { cutFileAway } from './codec-pool.ts';
import {
  saveContent,
  saveFileAlong,
  saveFileCut,
  type SaveFileCutOptions,
  type StoredContent,
} from './content.ts';
import { createGearTable } from './gear.ts';
import {
  acquireLock,
  type LockClock,
  type LockInfo,
  type OnLockLeft,
  type RepositoryLock,
} from './locks.ts';
import { encodeManifest, manifestKey, type Manifest } from './manifest.ts';
import type { MasterIndex } from './master-index.ts';
import { recoverUnindexedPacks } from './recover.ts';
import type { OpenRepository } from './repository.ts';
import { encodeTree, type TreeNode } from './tree.ts';
import type { ArtifactInfo, BackupRecord, BackupSession, CommitInfo } from './types.ts';

/** A session with the lower-level calls the files driver needs. */
export interface RepositorySession extends BackupSession {
  readonly stats: Readonly<SaverStats>;
  /** Stores a byte stream as content (no tree entry). */
  saveContent(
    source: AsyncIterable<Uint8Array>,
    options?: {
      profile?: ChunkerProfile;
      signal?: AbortSignal;
      onBytes?: (n: number) => void;
      /** SHA-256 of the whole stream too (default true); see `saveContent`. */
      wholeHash?: boolean;
    },
  ): Promise<StoredContent>;
  /**
   * Stores the open file `fd` as `saveContent` would with the `model` profile, the file cut into
   * chunks and hashed on the codec workers (see `saveFileCut` in content.ts): a large file.
   * `mostlyNew` (a new file): each chunk is read and hashed into a slot and encoded there if new,
   * instead of a request of chunks hashed first and the new ones read again (for a changed
   * version of a file, most of whose chunks are stored already); `readOnce`, see there.
   */
  saveFileCut(fd: number, options?: SaveFileCutOptions): Promise<StoredContent>;
  /**
   * Stores the open file `fd`, of `size` bytes, along the chunks of its previous version
   * (`previous`, the blob ids of its content; see `saveFileAlong` in content.ts), or resolves
   * with undefined, having stored nothing, when that version was of another size, a blob of it is
   * not in the index, or its bytes moved (the caller then cuts the file with {@link saveFileCut}).
   */
  saveFileAlong(
    fd: number,
    previous: readonly string[],
    size: number,
    options?: { signal?: AbortSignal; onBytes?: (n: number) => void },
  ): Promise<StoredContent | undefined>;
  /**
   * Stores a small file as `saveContent` would with the `model` profile, its reading, hashing and
   * encoding done on a codec worker. Returns what `fstat` said of the file before and after the
   * read, and `stored` unless the file is larger than the profile's smallest chunk or no regular
   * file (it must then be read with `saveContent`): below that size a file is one chunk, so both
   * ways store the same blobs.
   */
  saveSmallFile(path: string, signal?: AbortSignal): Promise<SmallFileStored>;
  /** The largest file {@link saveSmallFile} stores. */
  readonly smallFileMax: number;
  /**
   * Adds an artifact from content already stored with `saveContent` (e.g. assembled from
   * blocks). `sha256` may be omitted when the bytes never passed through in order; every blob
   * is still authenticated and re-hashed on read.
   */
  addStoredArtifact(
    path: string,
    stored: { content: readonly string[]; size: number; sha256?: string },
  ): ArtifactInfo;
  /**
   * Uploads everything saved so far (packs and index) so it can be read back before the commit,
   * e.g. to verify a database backup. Nothing becomes a backup until `commit`.
   */
  flush(signal?: AbortSignal): Promise<void>;
  /**
   * The repository's locks other than the session's own, judged now by the store's clock (see
   * `RepositoryLock.others`): the backups running beside this one.
   */
  otherLocks(): Promise<LockInfo[]>;
  /** Stores one directory's nodes; returns the tree id (hex). */
  saveTree(nodes: readonly TreeNode[], signal?: AbortSignal): Promise<string>;
  /** Commits with a ready root tree and totals instead of the session's artifacts. */
  commitTree(
    tree: string,
    info: CommitInfo,
    totals: { files: number; bytes: number; unreadable?: number; changedWhileRead?: number },
  ): Promise<BackupRecord>;
}

/** What {@link RepositorySession.saveSmallFile} read and stored. */
export interface SmallFileStored {
  readonly before: FileVersion;
  readonly after: FileVersion;
  readonly stored?: StoredContent;
}

/**
 * Starts a backup session on an open repository. `onLockLeft` is told when the session's lock
 * cannot be removed at its end (see `RepositoryLock.release`): a committed backup is saved all
 * the same, and a failed one keeps its own error.
 */
export async function startSession(
  repo: OpenRepository,
  options: {
    signal?: AbortSignal;
    operation?: string;
    /** The source backed up, recorded in the session's lock (see `LockOptions.source`). */
    source?: string;
    onLockLeft?: OnLockLeft;
    /** The lock's clock, for tests (see `LockClock`). */
    lockClock?: LockClock;
  } = {},
): Promise<RepositorySession> {
  const lock: RepositoryLock = await acquireLock(repo.store, repo.keys, {
    exclusive: false,
    operation: options.operation ?? 'backup',
    ...(options.source !== undefined ? { source: options.source } : {}),
    onLockLeft: options.onLockLeft,
    clock: options.lockClock,
  });
  let saver: BlobSaver;
  let index: MasterIndex;
  try {
    let damagedIndex = false;
    index = await repo.index({
      reload: true,
      signal: options.signal,
      onDamaged: () => (damagedIndex = true),
    });
    // Packs no index names are looked for only where there may be some: a session that ends
    // indexes what it stored, committed or not; one that died leaves its lock behind, stale; the
    // packs of a damaged index object are left out of the index. Listing every pack at every
    // start took 1-2 s for 100,000 local packs (1.6 TB), and is a round trip per 1,000 from S3.
    if (damagedIndex || lock.staleAtStart.length > 0)
      await recoverUnindexedPacks(repo, index, options.signal);
    saver = createBlobSaver({
      store: repo.store,
      keys: repo.keys,
      index,
      packSize: repo.config.packSize,
      compression: { level: repo.config.compressionLevel },
    });
  } catch (error) {
    await lock.release();
    throw error;
  }
  const gear = createGearTable(repo.keys.chunkerKey);
  const smallFileMax = repo.config.chunkers.model?.min ?? 0;
  const startedMs = Date.now();
  const artifacts: TreeNode[] = [];
  let closed = false;

  const session: RepositorySession = {
    stats: saver.stats,
    saveContent(source, opts = {}) {
      const params = repo.config.chunkers[opts.profile ?? 'model'];
      if (!params) throw new UsageError(`unknown chunking profile ${String(opts.profile)}`);
      // The stream's bytes are cut on this thread, in WebAssembly (gear-scan.ts).
      const chunker = createChunker(gear, params, createGearScanner(gear, params));
      return saveContent(saver, chunker, source, opts);
    },
    saveFileCut(fd, opts = {}) {
      const params = repo.config.chunkers.model;
      if (!params) throw new UsageError('the repository has no model chunking profile');
      const chunking = { gear, params };
      const cut = (span: number, readOnce: boolean) =>
        cutFileAway(chunking, fd, span, { readOnce });
      return saveFileCut(saver, cut, fd, opts);
    },
    async saveFileAlong(fd, previous, size, opts = {}) {
      const chunks: { id: Buffer; length: number }[] = [];
      let total = 0;
      for (const hex of previous) {
        const id = Buffer.from(hex, 'hex');
        const where = index.get(id);
        if (where === undefined) return undefined;
        chunks.push({ id, length: where.rawLength });
        total += where.rawLength;
      }
      if (total !== size || size === 0) return undefined;
      return saveFileAlong(saver, repo.keys, fd, chunks, opts);
    },
    smallFileMax,
    async saveSmallFile(path, signal) {
      signal?.throwIfAborted();
      const file = await saver.saveFile(path, smallFileMax, signal);
      const { before, after, rawLength, id } = file;
      if (file.skipped || rawLength > smallFileMax) return { before, after };
      const content = id ? [id.toString('hex')] : [];
      return { before, after, stored: { size: rawLength, content } };
    },
    async saveTree(nodes, signal) {
      const id = await saver.save('tree', encodeTree(nodes), signal);
      return id.toString('hex');
    },
    async addArtifact(path, data, opts = {}): Promise<ArtifactInfo> {
      _checkArtifactName(path, artifacts);
      const stored = await session.saveContent(data, { profile: 'db', signal: opts.signal });
      return session.addStoredArtifact(path, stored);
    },
    addStoredArtifact(path, stored) {
      _checkArtifactName(path, artifacts);
      artifacts.push({
        name: path,
        type: 'file',
        mode: 0o600,
        mtime: `${BigInt(Date.now()) * 1_000_000n}`,
        size: stored.size,
        content: [...stored.content],
        ...(stored.sha256 ? { sha256: stored.sha256 } : {}),
      });
      return { path, size: stored.size, sha256: stored.sha256 ?? '' };
    },
    flush: (signal) => saver.flush(signal),
    otherLocks: () => lock.others(),
    async commit(info) {
      const tree = await session.saveTree(artifacts);
      const bytes = artifacts.reduce((sum, a) => sum + (a.size ?? 0), 0);
      return session.commitTree(tree, info, { files: artifacts.length, bytes });
    },
    async commitTree(tree, info, totals) {
      if (closed) throw new UsageError('backup session already closed');
      try {
        await saver.flush();
        const manifest: Manifest = {
          version: 1,
          source: info.source,
          kind: info.kind,
          type: info.type,
          startedAt: info.startedAt.toISOString(),
          finishedAt: new Date().toISOString(),
          host: info.host ?? hostname(),
          paths: [...(info.paths ?? [])],
          tags: [...(info.tags ?? [])],
          ...(info.parent ? { parent: info.parent } : {}),
          tree,
          summary: {
            files: totals.files,
            bytes: totals.bytes,
            addedBytes: 0,
            durationMs: Date.now() - startedMs,
            ...(totals.unreadable !== undefined ? { unreadable: totals.unreadable } : {}),
            ...(totals.changedWhileRead !== undefined
              ? { changedWhileRead: totals.changedWhileRead }
              : {}),
          },
          meta: { ...(info.meta ?? {}) },
        };
        // Packs and index objects; the manifest itself (under a KiB) is not counted.
        manifest.summary.addedBytes = saver.stats.addedBytes;
        const { id, bytes } = encodeManifest(repo.keys, manifest);
        // Without a lock kept fresh, prune may have deleted packs this backup's blobs are in.
        lock.throwIfLost();
        await repo.store.put(manifestKey(id), bytes);
        const { version: _v, ...record } = manifest;
        return { id, shortId: id.slice(0, 8), ...record };
      } finally {
        closed = true;
        await lock.release();
      }
    },
    async abort() {
      if (closed) return;
      closed = true;
      try {
        await saver.discard();
        await _indexStored(saver, lock);
      } finally {
        await lock.release();
      }
    },
  };
  return session;
}

// --- internal ---

/**
 * Indexes the packs a stopped session stored, so that the next backup reuses them without looking
 * for them (see `startSession`); left unindexed when the store is what failed (given up after
 * {@link INDEX_ON_ABORT_MS}) or the lock was lost (prune may have taken them for a dead backup's).
 */
async function _indexStored(saver: BlobSaver, lock: RepositoryLock): Promise<void> {
  try {
    lock.throwIfLost();
    await saver.indexStored(AbortSignal.timeout(INDEX_ON_ABORT_MS));
  } catch {
    // Left unindexed: the next backup stores their blobs again, and prune adopts or removes them.
  }
}

const INDEX_ON_ABORT_MS = 10_000;

function _checkArtifactName(path: string, artifacts: readonly TreeNode[]): void {
  if (!path || path.includes('/') || path === '.' || path === '..') {
    throw new UsageError(`artifact name "${path}" must be a plain file name`);
  }
  if (artifacts.some((a) => a.name === path)) {
    throw new UsageError(`artifact ${path} was already added to this backup`);
  }
}

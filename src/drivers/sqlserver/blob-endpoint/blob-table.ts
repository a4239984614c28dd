/**
 * The blobs SQL Server writes to and reads from hbr's blob endpoint. Each block is chunked and
 * stored in the backup session as it arrives, so no backup file ever exists on disk, blocks may
 * come in any order and be re-sent, and a block list commits the order. Reads are served from
 * the repository: blocks of this session once flushed, or artifacts of committed backups.
 * @module
 */
import { Readable } from 'node:stream';
import { NotFoundError, UsageError } from '../../../errors.ts';
import {
  streamContentRange,
  type OpenRepository,
  type RepositorySession,
} from '../../../repository/index.ts';
import type { BlockSource } from './block-list-xml.ts';

/** One stored block: its content blob ids and plaintext size. */
interface StoredBlock {
  readonly content: readonly string[];
  readonly size: number;
}

/** A staged block, and where its Put Block came in the order of arrival. */
interface StagedBlock extends StoredBlock {
  readonly received: number;
}

/** A blob: staged (uncommitted) blocks and the committed block sequence. */
interface BlobState {
  readonly staged: Map<string, StagedBlock>;
  committed: { id: string; block: StoredBlock }[];
  /** Where the Put Blob or Put Block List that set `committed` came in the order of arrival. */
  committedBy: number;
  version: number;
  /** The committed blocks' content in order, made once per commit (ranged reads find blobs in it). */
  content?: readonly string[];
}

/** A committed blob as an artifact: its content in order. */
export interface CommittedBlob {
  readonly name: string;
  readonly content: string[];
  readonly size: number;
}

/** The endpoint's storage. Keys are `container/blob`. */
export interface BlobTable {
  /**
   * Put Block. Call it when the request arrives, with its body still to come: of several Put
   * Blocks of one block id, the one called last keeps the block (as Azure keeps the most recently
   * received), however long each body takes to come and be stored. One that fails changes nothing.
   */
  putBlock(
    key: string,
    blockId: string,
    body: Promise<Buffer>,
    signal?: AbortSignal,
  ): Promise<void>;
  /**
   * Put Blob: the whole blob in one request (SQL Server uses it to create empty blobs). Call it
   * when the request arrives, as `putBlock`: of several Put Blobs (and Put Block Lists) of one
   * blob, the one called last keeps the blob, however long each body takes. One that fails
   * changes nothing.
   */
  putBlob(key: string, body: Promise<Buffer>, signal?: AbortSignal): Promise<void>;
  /** Put Block List; it counts as arriving when called (see `putBlob`). */
  putBlockList(key: string, blocks: readonly { id: string; source: BlockSource }[]): void;
  blockLists(key: string): {
    committed: { id: string; size: number }[];
    uncommitted: { id: string; size: number }[];
  };
  /** Changes whenever the blob's committed content changes (for ETags). */
  version(key: string): string;
  /** Size of a committed blob, or `undefined` when there is none. */
  size(key: string): Promise<number | undefined>;
  /**
   * A range of a committed blob, streamed as the consumer takes it: memory stays bounded
   * however long the range. @throws NotFoundError (before streaming) when there is no such blob.
   */
  read(key: string, offset: number, length: number, signal?: AbortSignal): Promise<Readable>;
  delete(key: string): void;
  /** Every committed blob under a container (for adding them to the backup as artifacts). */
  committed(container: string): CommittedBlob[];
}

/** Options of {@link createBlobTable}. */
export interface BlobTableOptions {
  /** Where written blocks go; without it the table is read-only. */
  readonly session?: RepositorySession;
  readonly repo: OpenRepository;
  /**
   * Blobs of committed backups to serve for RESTORE: `container/blob` → backup id and artifact.
   */
  readonly published?: ReadonlyMap<string, { backupId: string; artifact: string }>;
}

/** Creates the table. */
export function createBlobTable(options: BlobTableOptions): BlobTable {
  const blobs = new Map<string, BlobState>();
  // Blocks stored since the last flush: a read of them (RESTORE VERIFYONLY right after the
  // BACKUP) first makes them readable. Every read waits for the flush in progress, not only the
  // one that started it: stripes and read-ahead read at once.
  let unflushed = false;
  let flushed: Promise<void> = Promise.resolve();
  const readable = (): Promise<void> => {
    if (unflushed && options.session) {
      unflushed = false;
      // No reader's signal: one reader giving up must not fail the others' flush.
      flushed = options.session.flush().catch((error: unknown) => {
        unflushed = true; // tried again by the next read
        throw error;
      });
    }
    return flushed;
  };
  const state = (key: string): BlobState => {
    let blob = blobs.get(key);
    if (!blob) {
      blob = { staged: new Map(), committed: [], committedBy: 0, version: 0 };
      blobs.set(key, blob);
    }
    return blob;
  };
  const store = async (body: Buffer, signal?: AbortSignal): Promise<StoredBlock> => {
    if (!options.session) throw new UsageError('this endpoint only serves reads');
    const stored = await options.session.saveContent(Readable.from([body]), {
      profile: 'db',
      signal,
    });
    unflushed = true;
    return { content: stored.content, size: stored.size };
  };
  // Orders Put Blocks, and Put Blobs and Put Block Lists, by arrival (see `BlobTable.putBlock`).
  let received = 0;
  // Looked up once per blob: RESTORE reads a published backup in thousands of ranges.
  const publishedNodes = new Map<string, Promise<{ size: number; content: readonly string[] }>>();
  const published = (
    key: string,
  ): Promise<{ size: number; content: readonly string[] }> | undefined => {
    const entry = options.published?.get(key);
    if (!entry) return undefined;
    let found = publishedNodes.get(key);
    if (!found) {
      found = (async () => {
        const backup = await options.repo.findBackup(entry.backupId);
        const node = (await options.repo.readTree(backup.tree)).find(
          (n) => n.name === entry.artifact && n.type === 'file',
        );
        if (!node)
          throw new NotFoundError(`backup ${backup.shortId} has no artifact ${entry.artifact}`);
        return { size: node.size ?? 0, content: node.content ?? [] };
      })();
      found.catch(() => publishedNodes.delete(key)); // tried again by the next request
      publishedNodes.set(key, found);
    }
    return found;
  };

  return {
    async putBlock(key, blockId, body, signal) {
      const order = ++received;
      // Stored first: a block that fails to store (a read-only endpoint) leaves no empty blob
      // behind to hide a published one.
      const block = await store(await body, signal);
      const { staged } = state(key);
      // A re-send that came later but stored sooner (a slow first upload of it) is kept.
      if ((staged.get(blockId)?.received ?? 0) < order)
        staged.set(blockId, { ...block, received: order });
    },
    async putBlob(key, body, signal) {
      const order = ++received;
      const block = await store(await body, signal);
      const blob = state(key);
      // A later Put Blob or Put Block List that finished sooner (this body was slow) is kept.
      if (blob.committedBy > order) return;
      blob.committed = [{ id: '', block }];
      blob.committedBy = order;
      blob.content = undefined;
      blob.version++;
    },
    putBlockList(key, list) {
      const blob = state(key);
      const committed = new Map(blob.committed.map((c) => [c.id, c.block]));
      blob.committed = list.map(({ id, source }) => {
        const block =
          source === 'Committed'
            ? committed.get(id)
            : source === 'Uncommitted'
              ? blob.staged.get(id)
              : (blob.staged.get(id) ?? committed.get(id));
        if (!block) throw new UsageError(`block list names block ${id}, which was not uploaded`);
        return { id, block };
      });
      blob.committedBy = ++received;
      blob.staged.clear(); // Azure discards uncommitted blocks on commit
      blob.content = undefined;
      blob.version++;
    },
    blockLists(key) {
      const blob = blobs.get(key);
      return {
        committed: (blob?.committed ?? []).map((c) => ({ id: c.id, size: c.block.size })),
        uncommitted: [...(blob?.staged ?? [])].map(([id, b]) => ({ id, size: b.size })),
      };
    },
    version(key) {
      const blob = blobs.get(key);
      return blob ? `${blob.version}` : `published-${options.published?.get(key)?.backupId ?? ''}`;
    },
    async size(key) {
      const blob = blobs.get(key);
      if (blob && (blob.committed.length > 0 || blob.staged.size === 0)) return _sizeOf(blob);
      return (await published(key))?.size;
    },
    async read(key, offset, length, signal) {
      const blob = blobs.get(key);
      let content: readonly string[];
      if (blob) {
        await readable();
        content = _contentOf(blob);
      } else {
        const entry = await published(key);
        if (!entry) throw new NotFoundError(`no blob ${key}`);
        content = entry.content;
      }
      return streamContentRange(options.repo, content, offset, length, {
        what: `blob ${key}`,
        ...(signal ? { signal } : {}),
      });
    },
    delete(key) {
      blobs.delete(key);
    },
    committed(container) {
      return [...blobs]
        .filter(([key, blob]) => key.startsWith(`${container}/`) && blob.committed.length > 0)
        .map(([key, blob]) => ({
          name: key.slice(container.length + 1),
          content: [..._contentOf(blob)],
          size: _sizeOf(blob),
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
  };
}

// --- internal ---

/** A blob's committed content in order, made once per commit (see `BlobState.content`). */
function _contentOf(blob: BlobState): readonly string[] {
  return (blob.content ??= blob.committed.flatMap((c) => [...c.block.content]));
}

/** A blob's committed size. */
function _sizeOf(blob: BlobState): number {
  return blob.committed.reduce((sum, c) => sum + c.block.size, 0);
}

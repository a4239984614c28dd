/**
 * Trees read ahead of a walk through a backup. Each tree is a ranged read of its pack: from a
 * store across the network, a round trip. A walk that read a folder's tree only once done with
 * everything before it waited for each in turn: behind 30 ms of latency, `hbr ls` of the
 * benchmark's data at scale 0.25 (143 folders) took 4.6 s more than without, about 143 x 30 ms.
 * A walker that knows which folders it will enter next names their trees to {@link
 * TreeReader.ahead}; they are read meanwhile, a bounded number at once, and its next reads take
 * them. What is read ahead is the stored blob, decoded and checked only when taken, so every
 * error still reaches the walker where it would have met it.
 * @module
 */
import type { MasterIndex } from './master-index.ts';
import type { OpenRepository } from './repository.ts';
import { decodeTree, type TreeNode } from './tree.ts';

/** How much a walk reads ahead and has not taken yet, at most. */
export interface ReadAheadRoom {
  /** Trees: a folder's worth of small reads in flight. @default 32 */
  readonly trees?: number;
  /**
   * Bytes of their JSON, as the index records them: a folder of 100,000 files has a tree of
   * about 20 MB, so 32 such were not to be held at once. A tree larger than this is read ahead
   * only when no other is held. @default 4 MiB
   */
  readonly bytes?: number;
}

const READ_AHEAD: Required<ReadAheadRoom> = { trees: 32, bytes: 4 * 1024 * 1024 };

/** One walk's reads of trees; see the module. */
export interface TreeReader {
  /**
   * Reads and parses tree `id` (hex), taking its read ahead if one was started. With
   * `onDuplicate`, see `OpenRepository.readTree`.
   * @throws NotFoundError, IntegrityError, StoreError
   */
  read(id: string, options?: { onDuplicate?: (name: string) => void }): Promise<TreeNode[]>;
  /**
   * Starts reading the trees `ids`, in order, that this walk will read soon, as far as there is
   * room. Only for trees the walk will read: one never taken holds its room for the walk's life.
   */
  ahead(ids: Iterable<string>): void;
}

/** A reader of trees for one walk, reading ahead within `room`. */
export function createTreeReader(
  repo: Pick<OpenRepository, 'readBlob' | 'index'>,
  signal?: AbortSignal,
  room: ReadAheadRoom = {},
): TreeReader {
  const reads = _readsAhead(
    repo,
    (id) => repo.readBlob('tree', Buffer.from(id, 'hex'), signal),
    room,
  );
  return {
    async read(id, options = {}) {
      return decodeTree(await reads.take(id), `tree ${id}`, options.onDuplicate);
    },
    ahead: (ids) => reads.ahead(ids),
  };
}

/**
 * Trees read ahead through the repository's tree cache (`OpenRepository.readTree`), for walks of
 * many backups (check) or of two (diff): backups share most of their trees, read once for all.
 */
export function createCachedTreeReader(
  repo: Pick<OpenRepository, 'readTree' | 'index'>,
  room: ReadAheadRoom = {},
): Pick<TreeReader, 'ahead'> & { read(id: string): Promise<TreeNode[]> } {
  const reads = _readsAhead(repo, (id) => repo.readTree(id), room);
  return { read: (id) => reads.take(id), ahead: (ids) => reads.ahead(ids) };
}

// --- internal ---

/**
 * Reads by `load`, started ahead by `ahead` within `room` (sized by the index of `repo`; none
 * before it has loaded) or when taken.
 */
function _readsAhead<T>(
  repo: Pick<OpenRepository, 'index'>,
  load: (id: string) => Promise<T>,
  room: ReadAheadRoom,
): { take(id: string): Promise<T>; ahead(ids: Iterable<string>): void } {
  const most = { ...READ_AHEAD, ...room };
  const started = new Map<string, { reading: Promise<T>; bytes: number }>();
  let held = 0;
  // Loaded by the walk's first read, before it names any tree to read ahead.
  let index: MasterIndex | undefined;
  repo.index().then(
    (loaded) => void (index = loaded),
    () => undefined, // the walk's own reads meet it
  );
  return {
    take(id) {
      const early = started.get(id);
      if (!early) return load(id);
      started.delete(id);
      held -= early.bytes;
      return early.reading;
    },
    ahead(ids) {
      for (const id of ids) {
        if (started.has(id)) continue;
        const bytes = index?.get(Buffer.from(id, 'hex'))?.rawLength;
        if (bytes === undefined || started.size >= most.trees) return;
        if (held > 0 && held + bytes > most.bytes) return;
        const reading = load(id);
        // Met by the read that takes it; a walk stopped before then has nobody left to tell.
        reading.catch(() => undefined);
        started.set(id, { reading, bytes });
        held += bytes;
      }
    },
  };
}

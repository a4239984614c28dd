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
import type { OpenRepository } from './repository.ts';
import { decodeTree, type TreeNode } from './tree.ts';

/** Trees read ahead and not yet taken, at most: a folder's worth of small reads in flight. */
const READ_AHEAD = 32;

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

/** A reader of trees for one walk; `room` bounds the trees read ahead and not yet taken. */
export function createTreeReader(
  repo: Pick<OpenRepository, 'readBlob'>,
  signal?: AbortSignal,
  room = READ_AHEAD,
): TreeReader {
  const reads = _readsAhead((id) => repo.readBlob('tree', Buffer.from(id, 'hex'), signal), room);
  return {
    async read(id, options = {}) {
      return decodeTree(await reads.take(id), `tree ${id}`, options.onDuplicate);
    },
    ahead: (ids) => reads.ahead(ids),
  };
}

/**
 * Trees read ahead through the repository's tree cache (`OpenRepository.readTree`), for a walk of
 * every backup (check, repair): backups share most of their trees, read once for all of them.
 */
export function createCachedTreeReader(
  repo: Pick<OpenRepository, 'readTree'>,
  room = READ_AHEAD,
): Pick<TreeReader, 'ahead'> & { read(id: string): Promise<TreeNode[]> } {
  const reads = _readsAhead((id) => repo.readTree(id), room);
  return { read: (id) => reads.take(id), ahead: (ids) => reads.ahead(ids) };
}

// --- internal ---

/** Reads by `load`, started ahead by `ahead` (at most `room` not yet taken) or when taken. */
function _readsAhead<T>(
  load: (id: string) => Promise<T>,
  room: number,
): { take(id: string): Promise<T>; ahead(ids: Iterable<string>): void } {
  const started = new Map<string, Promise<T>>();
  return {
    take(id) {
      const early = started.get(id);
      started.delete(id);
      return early ?? load(id);
    },
    ahead(ids) {
      for (const id of ids) {
        if (started.size >= room) return;
        if (started.has(id)) continue;
        const reading = load(id);
        // Met by the read that takes it; a walk stopped before then has nobody left to tell.
        reading.catch(() => undefined);
        started.set(id, reading);
      }
    },
  };
}

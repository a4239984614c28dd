/**
 * Trees read ahead of a walk through a backup. Each tree is a ranged read of its pack: from a
 * store across the network, a round trip. A walk that read a folder's tree only once done with
 * everything before it waited for each in turn: behind 30 ms of latency, `hbr ls` of the
 * benchmark's data at scale 0.25 (143 folders) took 4.6 s more than without, about 143 x 30 ms.
 * A walker that knows which folders it will enter next names their trees to {@link
 * TreeReader.ahead}; they are read meanwhile, a bounded number at once, and its next reads take
 * them. It may also say which folders inside each it will enter: those are read ahead as soon as
 * the tree naming them arrives, not when the walk enters it (named only then, each folder that
 * holds folders cost the walk a round trip: behind 100 ms, `hbr ls` of those 143 folders took
 * 3.8-3.9 s, and 3.1 s reading ahead so). A tree read ahead fails where the walker takes it, so
 * every error still reaches the walker where it would have met it.
 * @module
 */
import type { MasterIndex } from './master-index.ts';
import type { OpenRepository } from './repository.ts';
import { decodeTree, nameTwiceError, type TreeNode } from './tree.ts';

/** How much a walk reads ahead and has not taken yet, at most. */
export interface ReadAheadRoom {
  /**
   * Trees, most of them small (a few hundred bytes of JSON a file); the store's connections
   * bound how many are read at once. With 32, the folders inside found no room while their
   * parents and their parents' siblings were held: behind 100 ms, the first walk of a restore of
   * 143 folders took 3.0 s, with 256 2.3 s (`hbr ls` of them 3.8 s and 3.1 s). @default 256
   */
  readonly trees?: number;
  /**
   * Bytes of their JSON, as the index records them: a folder of 100,000 files has a tree of
   * about 20 MB, so 32 such were not to be held at once. A tree larger than this is read ahead
   * only when no other is held. @default 4 MiB
   */
  readonly bytes?: number;
}

const READ_AHEAD: Required<ReadAheadRoom> = { trees: 256, bytes: 4 * 1024 * 1024 };

/**
 * A folder whose tree a walk will read: the tree's id, and, told its nodes once it is read, the
 * folders inside it that the walk will enter too.
 */
export interface FolderAhead {
  readonly id: string;
  readonly inside?: (nodes: readonly TreeNode[]) => Iterable<FolderAhead>;
}

/** One walk's reads of trees; see the module. */
export interface TreeReader {
  /**
   * Reads and parses tree `id` (hex), taking its read ahead if one was started. With
   * `onDuplicate`, see `OpenRepository.readTree`.
   * @throws NotFoundError, IntegrityError, StoreError
   */
  read(id: string, options?: { onDuplicate?: (name: string) => void }): Promise<TreeNode[]>;
  /**
   * Starts reading the trees of `folders`, in order, that this walk will read soon, as far as
   * there is room, and those inside each as it arrives. Only for trees the walk will read: one
   * never taken holds its room for the walk's life.
   */
  ahead(folders: Iterable<string | FolderAhead>): void;
}

/**
 * The folders among `nodes` whose trees a walk of everything below them reads (those `descend`
 * allows), each with the folders inside it in turn: for {@link TreeReader.ahead}.
 */
export function foldersBelow(
  nodes: readonly TreeNode[],
  descend: (subtree: string) => boolean = () => true,
): FolderAhead[] {
  return nodes.flatMap((node) =>
    node.type === 'dir' && node.subtree && descend(node.subtree)
      ? [{ id: node.subtree, inside: (inner) => foldersBelow(inner, descend) }]
      : [],
  );
}

/** A reader of trees for one walk, reading ahead within `room`. */
export function createTreeReader(
  repo: Pick<OpenRepository, 'readBlob' | 'index'>,
  signal?: AbortSignal,
  room: ReadAheadRoom = {},
): TreeReader {
  // Decoded as it arrives, for the folders inside; names held twice are told when taken.
  const load = async (id: string): Promise<{ nodes: TreeNode[]; twice: string[] }> => {
    const twice: string[] = [];
    const bytes = await repo.readBlob('tree', Buffer.from(id, 'hex'), signal);
    return { nodes: decodeTree(bytes, `tree ${id}`, (name) => twice.push(name)), twice };
  };
  const reads = _readsAhead(repo, load, room, (read) => read.nodes);
  return {
    async read(id, options = {}) {
      const { nodes, twice } = await reads.take(id);
      const [first] = twice;
      if (first !== undefined && !options.onDuplicate) throw nameTwiceError(`tree ${id}`, first);
      for (const name of twice) options.onDuplicate?.(name);
      return nodes;
    },
    ahead: (folders) => reads.ahead(folders),
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
  const reads = _readsAhead(
    repo,
    (id) => repo.readTree(id),
    room,
    (nodes) => nodes,
  );
  return { read: (id) => reads.take(id), ahead: (folders) => reads.ahead(folders) };
}

// --- internal ---

/**
 * Reads by `load`, started ahead by `ahead` within `room` (sized by the index of `repo`; none
 * before it has loaded) or when taken; `nodesOf` tells what a read holds, for the folders inside.
 */
function _readsAhead<T>(
  repo: Pick<OpenRepository, 'index'>,
  load: (id: string) => Promise<T>,
  room: ReadAheadRoom,
  nodesOf: (read: T) => readonly TreeNode[],
): { take(id: string): Promise<T>; ahead(folders: Iterable<string | FolderAhead>): void } {
  const most = { ...READ_AHEAD, ...room };
  const started = new Map<string, { reading: Promise<T>; bytes: number }>();
  let held = 0;
  // Loaded by the walk's first read, before it names any tree to read ahead.
  let index: MasterIndex | undefined;
  repo.index().then(
    (loaded) => void (index = loaded),
    () => undefined, // the walk's own reads meet it
  );
  const ahead = (folders: Iterable<string | FolderAhead>): void => {
    for (const folder of folders) {
      const { id, inside } = typeof folder === 'string' ? { id: folder } : folder;
      if (started.has(id)) continue;
      const bytes = index?.get(Buffer.from(id, 'hex'))?.rawLength;
      if (bytes === undefined || started.size >= most.trees) return;
      if (held > 0 && held + bytes > most.bytes) return;
      const reading = load(id);
      started.set(id, { reading, bytes });
      held += bytes;
      // Told before whoever takes it (reactions run in order): the walk, entering it next, finds
      // the reads of those inside under way. Those that find no room now, it names again then.
      // A failure is met by the read that takes it; a walk stopped before has nobody to tell.
      reading.then((read) => inside && ahead(inside(nodesOf(read)))).catch(() => undefined);
    }
  };
  return {
    take(id) {
      const early = started.get(id);
      if (!early) return load(id);
      started.delete(id);
      held -= early.bytes;
      return early.reading;
    },
    ahead,
  };
}

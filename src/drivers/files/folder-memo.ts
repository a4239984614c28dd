/**
 * What a files backup remembers of each folder it stored, for the next backup of the same
 * paths: the folder's tree id and a digest of its own entries as that tree records them (name,
 * type, mode, mtime, owner and group; for files also size, inode, ctime and, for a file of more
 * than one link, its link count, for a sparse one that it is). When the scan finds a folder's
 * entries with the same digest, every file in it is unchanged by the rule the walk applies (size,
 * mtime, inode, ctime), so its nodes are the parent tree's own; if its subfolders also come out as before,
 * the folder is its parent tree, found without reading or decoding that tree. An unchanged
 * re-backup of the benchmark's 20,000 files reads no tree of its parent at all.
 *
 * A cache, never the only copy of anything (`../shared/DESIGN.md`: local state is rebuilt from
 * the repository): kept under the local cache folder, sealed under the repository's metadata
 * key (so a corrupt or foreign file is ignored, not trusted), valid only for the backup it was
 * written after, which must be the new backup's parent, and only while every index object that
 * backup's index held is still there ({@link FolderMemo.validUnder}): a folder taken whole
 * names its files' content unseen, which must still be indexed. Missing, stale or unreadable:
 * the walk reads the parent's trees as it would without it.
 * @module
 */
import { createHash } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  openObject,
  sealObject,
  type OpenRepository,
  type RepositoryKeys,
  type TreeNode,
} from '../../repository/index.ts';
import { childPath } from './child-path.ts';
import type { Excluder } from './excludes.ts';
import { isSparse, STAT_FIELDS, type SeenFolder } from './seen-folders.ts';

/** One folder as a backup stored it. */
export interface MemoFolder {
  /** The folder's tree id in that backup. */
  readonly tree: string;
  /** Digest of its own entries ({@link nodesDigest}); absent when it holds anything else. */
  readonly digest?: string;
}

/** The memo written after one backup (what {@link lookup} answers) and the one being made. */
export class FolderMemo {
  readonly #previous: ReadonlyMap<string, MemoFolder>;
  /** The index objects the backup it was written after held (see {@link validUnder}). */
  readonly #indexObjects: readonly string[];
  readonly #next = new Map<string, MemoFolder>();

  constructor(
    previous: ReadonlyMap<string, MemoFolder> = new Map(),
    indexObjects: readonly string[] = [],
  ) {
    this.#previous = previous;
    this.#indexObjects = indexObjects;
  }

  /**
   * Whether what it remembers is still indexed: every index object it was written under is among
   * `current`, those the new backup's index holds (`MasterIndex.objects`). The content of a
   * folder taken whole is named unseen, so it must be in the index: `hbr repair` writes the index
   * anew without the blobs it drops, and deletes every index object there was (so does prune,
   * without what no backup needs), while backups only add index objects. One gone, this memo
   * may name what the index lost, and the walk reads trees instead, checking each file's content
   * against the index (backup.ts); the memo it records then is valid again.
   */
  validUnder(current: ReadonlySet<string>): boolean {
    return this.#indexObjects.every((id) => current.has(id));
  }

  /** The folder at `path` as the parent backup stored it. */
  lookup(path: string): MemoFolder | undefined {
    return this.#previous.get(path);
  }

  /** Notes the folder at `path` as this backup stores it. */
  record(path: string, tree: string, digest: string | undefined): void {
    this.#next.set(path, digest === undefined ? { tree } : { tree, digest });
  }

  /** Folders recorded so far (for tests). */
  get recorded(): ReadonlyMap<string, MemoFolder> {
    return this.#next;
  }

  /**
   * The memo stored at `file` if it was written after backup `parent`, else an empty one. Any
   * failure (no file, another repository's, corrupt, one written before memos named their index
   * objects) is an empty memo: it is a cache. Before use, see {@link validUnder}.
   */
  static async load(file: string, keys: RepositoryKeys, parent: string): Promise<FolderMemo> {
    try {
      const text = openObject(keys, 'memo', await readFile(file), file).toString('utf8');
      const stored = JSON.parse(text) as { backup?: unknown; index?: unknown; folders?: unknown };
      const { index } = stored;
      if (
        stored.backup !== parent ||
        !Array.isArray(stored.folders) ||
        !Array.isArray(index) ||
        !index.every((id) => typeof id === 'string')
      )
        return new FolderMemo();
      const folders = new Map<string, MemoFolder>();
      for (const entry of stored.folders as unknown[]) {
        if (!Array.isArray(entry)) return new FolderMemo();
        const [path, tree, digest] = entry as unknown[];
        if (typeof path !== 'string' || typeof tree !== 'string') return new FolderMemo();
        folders.set(path, typeof digest === 'string' ? { tree, digest } : { tree });
      }
      return new FolderMemo(folders, index);
    } catch {
      return new FolderMemo();
    }
  }

  /**
   * Writes what this backup (`backup`, committed) recorded to `file`, whole or not at all, with
   * `indexObjects`: those its index held once committed (`MasterIndex.objects`), which list every
   * blob its folders name.
   */
  async save(
    file: string,
    keys: RepositoryKeys,
    backup: string,
    indexObjects: Iterable<string>,
  ): Promise<void> {
    const folders = [...this.#next].map(([path, f]) => [path, f.tree, f.digest ?? null]);
    const index = [...indexObjects].sort();
    const sealed = sealObject(
      keys,
      'memo',
      Buffer.from(JSON.stringify({ backup, index, folders })),
    );
    await mkdir(dirname(file), { recursive: true });
    const temp = `${file}.tmp-${process.pid}`;
    try {
      await writeFile(temp, sealed, { mode: 0o600 });
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }
}

/**
 * Where the memo for backups of `paths` (with `exclude`, from `source`) into `repo` is kept
 * under the cache folder `cacheDir`: one file per repository and set of inputs, since another
 * set of paths or excludes makes other trees of the same folders.
 */
export function folderMemoFile(
  cacheDir: string,
  repo: OpenRepository,
  inputs: {
    source: string;
    paths: readonly string[];
    exclude: readonly string[];
    ignoreCtime?: boolean;
  },
): string {
  // Backups that ignore ctimes keep memos of their own: their digests leave ctimes out.
  const key = JSON.stringify([
    inputs.source,
    [...inputs.paths].sort(),
    inputs.exclude,
    ...(inputs.ignoreCtime ? ['ignore-ctime'] : []),
  ]);
  const name = createHash('sha256').update(key).digest('hex').slice(0, 32);
  return join(cacheDir, repo.config.id, 'folders', name);
}

/**
 * The digest of a folder's own entries as its tree `nodes` hold them, or undefined when a node
 * is one the walk would not take over by its stat alone (a symlink, whose target a stat does not
 * give; a file marked as changed while read, which the next backup reads again). With
 * `ignoreCtime`, files' ctimes count as 0, as {@link summarizeSeen} counts them then.
 */
export function nodesDigest(nodes: readonly TreeNode[], ignoreCtime = false): string | undefined {
  const records = new BigUint64Array(nodes.length * DIGEST_FIELDS);
  const links: string[] = [];
  try {
    for (let k = 0; k < nodes.length; k++) {
      const node = nodes[k] as TreeNode;
      const at = k * DIGEST_FIELDS;
      // A node stored before owners were kept has none to compare: its folder is walked.
      if (node.uid === undefined || node.gid === undefined) return undefined;
      records[at + 6] = BigInt(node.uid);
      records[at + 7] = BigInt(node.gid);
      if (node.type === 'dir') {
        records[at + 1] = BigInt(node.mtime);
        records[at + 2] = BigInt(S_IFDIR | node.mode);
      } else if (
        node.type === 'file' &&
        node.content !== undefined &&
        node.changedWhileReading !== true &&
        node.size !== undefined &&
        node.inode !== undefined &&
        (ignoreCtime || node.ctime !== undefined)
      ) {
        const [dev, ino, extra] = node.inode.split(':');
        if (dev === undefined || ino === undefined || extra !== undefined) return undefined;
        records[at] = BigInt(node.size);
        records[at + 1] = BigInt(node.mtime);
        records[at + 2] = BigInt(S_IFREG | node.mode);
        records[at + 3] = BigInt(dev);
        records[at + 4] = BigInt(ino);
        records[at + 5] = ignoreCtime ? 0n : BigInt(node.ctime ?? '');
        if (node.links !== undefined) links.push(`${k}:${node.links}`);
        if (node.sparse) links.push(`${k}:${SPARSE}`);
      } else return undefined;
    }
  } catch {
    return undefined; // a number that is none: nothing to compare with
  }
  const bytes = new Uint8Array(records.buffer);
  return _digest(
    nodes.map((node) => node.name),
    bytes,
    links,
  );
}

/** A folder as the scan saw it, summed up for the memo. */
export interface SeenSummary {
  /** The digest {@link nodesDigest} gives its parent tree when nothing in it changed. */
  readonly digest: string;
  /** Its files, and their bytes. */
  readonly files: number;
  readonly bytes: number;
  /** Names of its subfolders, in order. */
  readonly subfolders: readonly string[];
}

/**
 * The folder at `path` as the scan saw it, with what `excluder` excludes left out (as the walk
 * leaves it out), or undefined when an entry has no stat or is neither a file nor a folder. Its
 * digest equals {@link nodesDigest} of its parent tree exactly when every file in it is
 * unchanged by the walk's rule and every subfolder has the same mode, mtime and owners; the rest is what
 * the walk needs of such a folder, from the same pass. Its stats are copied as bytes (a BigInt
 * per number read would be most of its time).
 */
export function summarizeSeen(
  path: string,
  folder: SeenFolder,
  excluder: Excluder,
  ignoreCtime = false,
): SeenSummary | undefined {
  const { entries, stats } = folder;
  const bytes = new Uint8Array(stats.buffer, stats.byteOffset, stats.byteLength);
  // Each number as two 32-bit halves (little-endian; elsewhere no type matches, and every
  // folder is walked as without a memo).
  const words = new Uint32Array(stats.buffer, stats.byteOffset, stats.length * 2);
  const records = new Uint8Array(entries.length * DIGEST_RECORD);
  const links: string[] = [];
  const names: string[] = [];
  const subfolders: string[] = [];
  let fileBytes = 0;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as Dirent;
    if (excluder.excludes(childPath(path, entry.name), entry.isDirectory())) continue;
    const at = i * STAT_FIELDS * 2; // the first half of entry i's size
    const type = (words[at + 4] ?? 0) & S_IFMT; // its mode's low half
    if (type !== S_IFREG && type !== S_IFDIR) return undefined; // also: no stat (mode 0)
    const to = names.length * DIGEST_RECORD;
    records.set(bytes.subarray(i * STAT_RECORD, i * STAT_RECORD + DIGEST_RECORD), to);
    // A folder's node holds its mode, mtime, owner and group only.
    if (type === S_IFDIR) {
      records.fill(0, to, to + 8).fill(0, to + 24, to + 48);
      subfolders.push(entry.name);
    } else {
      const size = (words[at] ?? 0) + (words[at + 1] ?? 0) * 2 ** 32;
      fileBytes += size;
      if (ignoreCtime) records.fill(0, to + 40, to + 48); // the ctime, as nodesDigest has it
      // The link count, the ninth field, as its node records it: only when more than one.
      const nlink = (words[at + 16] ?? 0) + (words[at + 17] ?? 0) * 2 ** 32;
      if (nlink > 1) links.push(`${names.length}:${nlink}`);
      // Sparse by its blocks, the tenth field, as its node records it.
      const blocks = (words[at + 18] ?? 0) + (words[at + 19] ?? 0) * 2 ** 32;
      if (isSparse(size, blocks)) links.push(`${names.length}:${SPARSE}`);
    }
    names.push(entry.name);
  }
  return {
    digest: _digest(names, records.subarray(0, names.length * DIGEST_RECORD), links),
    files: names.length - subfolders.length,
    bytes: fileBytes,
    subfolders,
  };
}

// --- internal ---

const { S_IFMT, S_IFDIR, S_IFREG } = constants;

/**
 * Numbers per entry in a digest's records: size, mtime (ns), mode, device, inode, ctime (ns),
 * uid, gid, the scan's first eight. The link count is not among them but listed apart, for the
 * files of more than one link only: a folder without such files has the digest it had before
 * hbr recorded links, so a memo written then still spares its walk. A folder holding one is
 * walked once after the upgrade (its file nodes have no `links` yet), and its files' nodes
 * given their count; see backup.ts. Sparse files are listed there too, as `position:sparse`.
 */
const DIGEST_FIELDS = 8;
const DIGEST_RECORD = DIGEST_FIELDS * 8;
/** Bytes per entry as the scan keeps them (see STAT_FIELDS). */
const STAT_RECORD = STAT_FIELDS * 8;
/** A sparse file's mark among the link counts. */
const SPARSE = 'sparse';

/**
 * SHA-256 of the count, the records, then the names (NUL, which no name holds, between them),
 * then, if any, the `position:count` of each file of more than one link and `position:sparse` of
 * each sparse file.
 */
function _digest(names: readonly string[], records: Uint8Array, links: readonly string[]): string {
  const count = Buffer.alloc(4);
  count.writeUInt32LE(names.length);
  const hash = createHash('sha256').update(count).update(records).update(names.join('\0'));
  if (links.length > 0) hash.update(`\0\0${links.join(',')}`);
  return hash.digest('base64');
}

/**
 * Backs up file trees: walks the given paths, stores each file's content through the session
 * (skipping files unchanged since the parent backup by size, mtime, inode and ctime), and stores one
 * tree per directory. The backup's tree mirrors absolute paths, as restic's does, so several
 * paths share one root. Unreadable entries are reported and skipped; files that change while
 * being read are stored but marked.
 * @module
 */
import { closeSync, fstatSync, lstatSync, openSync, type Dirent } from 'node:fs';
import { lstat, readlink, stat } from 'node:fs/promises';
import { join, parse, sep } from 'node:path';
import pLimit from 'p-limit';
import { SourceError } from '../../errors.ts';
import { favourMemoryOverSpeed } from '../../util/heap-sizing.ts';
import { OPEN_LISTED_FILE } from '../../util/open-flags.ts';
import {
  type FileVersion,
  type OpenRepository,
  type RepositorySession,
  type SmallFileStored,
  type StoredContent,
  type TreeNode,
} from '../../repository/index.ts';
import { childPath } from './child-path.ts';
import { listFolder } from './list-folder.ts';
import { readSmallFile } from './read-small-file.ts';
import { createExcluder, type Excluder } from './excludes.ts';
import {
  nodesDigest,
  summarizeSeen,
  type FolderMemo,
  type MemoFolder,
  type SeenSummary,
} from './folder-memo.ts';
import {
  isSparse,
  seeFolder,
  statAt,
  typeOfMode,
  type SeenFolders,
  type SeenStat,
} from './seen-folders.ts';

export interface FilesBackupOptions {
  readonly session: RepositorySession;
  readonly repo: OpenRepository;
  /** Absolute paths to back up. */
  readonly paths: readonly string[];
  readonly exclude?: readonly string[];
  /**
   * Root tree of the parent backup, to skip unchanged files. Only what the index still holds of
   * it is reused (see `backupFiles`).
   */
  readonly parentTree?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: FilesProgress) => void;
  readonly onFileError?: (path: string, message: string) => void;
  /** An entry left out that is no error: a socket, which its program makes again when it starts. */
  readonly onSkipped?: (path: string, message: string) => void;
  /** Folders as a scan just before saw them (see seen-folders.ts), instead of listing again. */
  readonly seen?: SeenFolders;
  /**
   * What the parent backup stored of each folder (folder-memo.ts), to take unchanged folders
   * without reading its trees; this backup's folders are recorded into it.
   */
  readonly memo?: FolderMemo;
  /**
   * Take a file as unchanged by its size, mtime and inode alone, as restic's `--ignore-ctime`:
   * for trees whose ctimes move with no change of content (a `chown -R` or `chmod -R` run each
   * time), which would otherwise be read again every time. @default false
   */
  readonly ignoreCtime?: boolean;
}

/** Running totals, also the final statistics. */
export interface FilesProgress {
  files: number;
  dirs: number;
  newFiles: number;
  changedFiles: number;
  unchangedFiles: number;
  /** Bytes of all files in the backup. */
  bytes: number;
  /** Bytes actually read (new and changed files). */
  bytesRead: number;
  /** Bytes of unchanged files, taken from the parent backup without reading. */
  bytesUnchanged: number;
  currentPath?: string;
}

export interface FilesBackupResult {
  readonly tree: string;
  readonly stats: FilesProgress;
  readonly errors: readonly { path: string; message: string }[];
  readonly changedWhileReading: readonly string[];
}

/** Files below this size are read many at a time; larger ones one or two at a time (memory bound). */
const SMALL_FILE = 1024 * 1024;

/**
 * Runs a files backup into an open session. A parent node or folder listing is reused only while
 * the index holds what it names: one whose blob `hbr repair` dropped is backed up as new, which
 * stores that blob again and so heals every backup that names it.
 * @throws SourceError when a path does not exist.
 */
export async function backupFiles(options: FilesBackupOptions): Promise<FilesBackupResult> {
  const { session, repo, signal } = options;
  const ignoreCtime = options.ignoreCtime === true;
  for (const path of options.paths) {
    try {
      await lstat(path);
    } catch (error) {
      throw new SourceError(
        `[files] ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (error as Error).message}`,
        { cause: error },
      );
    }
  }
  const stats: FilesProgress = {
    files: 0,
    dirs: 0,
    newFiles: 0,
    changedFiles: 0,
    unchangedFiles: 0,
    bytes: 0,
    bytesRead: 0,
    bytesUnchanged: 0,
  };
  const errors: { path: string; message: string }[] = [];
  const changed: string[] = [];
  // The session's own index, which also gains what this backup stores.
  const index = await repo.index({ signal });
  const indexed = (hex: string): boolean => index.has(Buffer.from(hex, 'hex'));
  /** A parent folder's tree, if the index holds it: else the folder is backed up as new. */
  const listed = (tree: string | undefined): string | undefined =>
    tree !== undefined && indexed(tree) ? tree : undefined;
  /**
   * A parent node to compare with, unless it is a file whose content the index lacks (dropped
   * by `hbr repair`): reused, it would name the lost blob again; read as new, it is stored.
   */
  const reusable = (node: TreeNode | undefined): TreeNode | undefined =>
    node?.type === 'file' && node.content?.every(indexed) === false ? undefined : node;
  // Files read here hold their bytes meanwhile; those read on the codec workers only a share of
  // a slot, and go to them FILES_PER_REQUEST to a request (codec-pool.ts), so more are asked for
  // at once: with 16, two requests were in flight and each worker waited for this thread between
  // them (the benchmark's 20,000 artifacts: 3.40-3.49 s; 32: 3.18-3.27; 64: 3.04-3.20).
  const smallLimit = pLimit(16);
  const onWorkersLimit = pLimit(64);
  // Large files are cut on a codec worker. A new one at a time: its chunks keep both workers
  // busy storing them (two at a time measured the same, 3 pairs). A changed one, mostly stored
  // chunks to look up: two at a time, one per core.
  const newLargeLimit = pLimit(1);
  const changedLargeLimit = pLimit(2);
  const report = (): void => options.onProgress?.(stats);
  /**
   * Large files of more than one link being read or read in this run, by `dev:inode`: a hard
   * link of one, met later and unchanged since, takes its content without reading it (ten links
   * to a 4 GB model were read as 40 GB). Large files only: re-reading a small one costs little.
   * Of more than one link only, and only what a later link is compared with: a file without
   * links costs nothing here. An entry goes once all the file's other links were met.
   */
  const largeByInode = new Map<string, _LargeRead>();
  const fail = (path: string, error: unknown): void => {
    const message = (error as Error).message;
    errors.push({ path, message });
    options.onFileError?.(path, message);
  };

  /**
   * A parent folder's nodes by name, to compare with. A name an older backup held twice (from
   * names that were not UTF-8) is left out: which node is right cannot be told, so the entry is
   * read again, as one with no parent; failing the tree dropped the whole folder.
   */
  const parentNodes = async (tree: string | undefined): Promise<Map<string, TreeNode>> => {
    const id = listed(tree);
    return new Map(
      id
        ? (await repo.readTree(id, signal, { onDuplicate: () => undefined })).map((n) => [
            n.name,
            n,
          ])
        : [],
    );
  };

  const fileNode = async (
    path: string,
    name: string,
    st: FileVersion,
    previous?: TreeNode,
    read?: SmallFileStored,
    /** `previous`, when the caller found it unchanged already. */
    same?: TreeNode & { content: string[] },
  ): Promise<TreeNode> => {
    // Counted once stored: a file that cannot be read is in the errors, not in the backup's size.
    const kept = same ?? _unchangedFile(previous, st, ignoreCtime);
    if (kept) {
      stats.files++;
      stats.bytes += Number(st.size);
      stats.unchangedFiles++;
      stats.bytesUnchanged += Number(st.size);
      // Usually nothing at all changed: the parent's node itself, one object less per file,
      // and the folder's comparison with its parent tree is an identity check. A link count
      // differs when the parent was backed up before hbr recorded links (or, with
      // --ignore-ctime, when a link was made or removed): the node takes the count, its
      // content kept, not read again. So does sparseness (recorded since a later version, or
      // holes punched or filled by something that kept the mtime and ctime).
      if (
        kept.mode === Number(st.mode & 0o7777n) &&
        kept.uid === Number(st.uid) &&
        kept.gid === Number(st.gid) &&
        kept.links === (st.nlink > 1n ? Number(st.nlink) : undefined) &&
        kept.sparse === (_isSparse(st) || undefined) &&
        kept.subtree === undefined &&
        kept.linkTarget === undefined
      )
        return kept;
      return {
        ..._fileBase(name, st),
        // The content is the parent's, read when its ctime was the one recorded: with
        // --ignore-ctime, the file's ctime now may be that of a change not read, which would then
        // pass for read in every later backup.
        ctime: kept.ctime,
        content: kept.content,
        ...(kept.sha256 ? { sha256: kept.sha256 } : {}),
      };
    }
    const base = _fileBase(name, st);
    const onBytes = (n: number): void => {
      stats.bytesRead += n;
      report();
    };
    const node = (
      before: FileVersion,
      after: FileVersion,
      stored: { size: number; content: string[] },
    ): TreeNode => {
      const torn =
        after.mtimeNs !== before.mtimeNs ||
        after.ctimeNs !== before.ctimeNs ||
        after.size !== before.size ||
        BigInt(stored.size) !== before.size;
      stats.files++;
      stats.bytes += stored.size;
      if (previous) stats.changedFiles++;
      else stats.newFiles++;
      if (torn) changed.push(path);
      // The fields of the stat taken as the file was opened, whose mtime and ctime the next
      // backup compares.
      return {
        ..._fileBase(name, before),
        size: stored.size,
        content: stored.content,
        ...(torn ? { changedWhileReading: true as const } : {}),
      };
    };
    if (read?.stored) {
      onBytes(read.stored.size);
      return node(read.before, read.after, read.stored);
    }
    const saveWhole = (data: Buffer): Promise<StoredContent> =>
      session.saveContent(_once(data), { profile: 'model', signal, onBytes, wholeHash: false });
    // Files of one chunk are read, hashed and encoded on the codec workers: a folder of many
    // small files is bound by per-file work (system calls, the compressor's setup), which the
    // workers spread over every core while this thread walks folders and fills packs.
    if (base.size > 0 && base.size <= session.smallFileMax) {
      return onWorkersLimit(async () => {
        stats.currentPath = path;
        const { before, after, stored } = await session.saveSmallFile(path, signal);
        if (stored) {
          onBytes(stored.size);
          return node(before, after, stored);
        }
        // Grown past one chunk since the lstat: read here, as the next size up.
        const read = readSmallFile(path);
        return node(read.before, read.after, await saveWhole(read.data));
      });
    }
    if (base.size < SMALL_FILE) {
      return smallLimit(async () => {
        signal?.throwIfAborted();
        stats.currentPath = path;
        const { before, data, after } = readSmallFile(path);
        return node(before, after, await saveWhole(data));
      });
    }
    const inode = base.inode;
    const earlier = st.nlink > 1n ? largeByInode.get(inode) : undefined;
    // Its other links met: a further node of this inode is another file (the inode reused).
    if (earlier && --earlier.linksLeft <= 0) largeByInode.delete(inode);
    // Awaited here, holding no slot of the limit the earlier read may wait for.
    const linked = earlier && _sameVersion(await earlier.read, st);
    if (linked) {
      stats.files++;
      stats.bytes += base.size;
      if (previous) stats.changedFiles++;
      else stats.newFiles++;
      report();
      return { ...base, content: linked.content };
    }
    const largeLimit = previous?.type === 'file' ? changedLargeLimit : newLargeLimit;
    const reading = largeLimit(async () => {
      signal?.throwIfAborted();
      stats.currentPath = path;
      // Opened and stat'ed synchronously (microseconds): through the thread pool these waited
      // behind the walk's folder and tree reads (the changed model of the benchmark's version
      // 2: 150 ms before its first read).
      const fd = openSync(path, OPEN_LISTED_FILE);
      try {
        const before = fstatSync(fd, { bigint: true });
        if (!before.isFile()) throw new Error('no longer a regular file: skipped');
        // Either way a worker reads and cuts the file, and the others read each chunk again,
        // and this thread copies none of it. A changed version of a stored file is mostly stored
        // chunks: they are hashed a request at a time, and only new ones read again to store.
        // A new file is mostly new chunks: each is read and hashed into a slot, stored from it. Of
        // the same size as before, a changed file is read along its stored chunks: nothing is cut.
        const stored =
          previous?.type === 'file'
            ? ((await session.saveFileAlong(fd, previous.content ?? [], Number(before.size), {
                signal,
                onBytes,
              })) ?? (await session.saveFileCut(fd, { signal, onBytes })))
            : await session.saveFileCut(fd, { signal, onBytes, mostlyNew: true });
        return node(before, fstatSync(fd, { bigint: true }), stored);
      } finally {
        closeSync(fd);
      }
    });
    if (st.nlink > 1n && !earlier)
      largeByInode.set(inode, {
        linksLeft: Number(st.nlink) - 1,
        read: reading.then(_version, () => undefined),
      });
    return reading;
  };

  const entryNode = async (
    path: string,
    name: string,
    excluder: Excluder,
    previous?: TreeNode,
    listedAsFile = false,
    seen?: SeenStat,
  ): Promise<TreeNode | undefined> => {
    if (listedAsFile && !previous && session.smallFileMax > 0) {
      // A new file by its folder's listing: a codec worker opens and fstats it as it reads it,
      // one lstat less here. Whatever it cannot store (a larger file, one that is no longer a
      // regular file, an error) takes the way below, which reports errors.
      const read = await onWorkersLimit(() => session.saveSmallFile(path, signal)).catch(() => {});
      if (read?.stored) return fileNode(path, name, read.before, undefined, read);
    }
    // The scan's stat, unless this is a file to read: its content is checked against a stat
    // taken now. Else synchronous, like small-file reads: a few microseconds from the inode
    // cache, a third of the CPU of a thread-pool round trip (20,000 files: 66 vs 178 ms).
    const seenFile = seen !== undefined && typeOfMode(seen.mode) === 'file';
    const same = seenFile ? _unchangedFile(previous, seen, ignoreCtime) : undefined;
    let st: SeenStat;
    try {
      st = seen && (!seenFile || same) ? seen : lstatSync(path, { bigint: true });
    } catch (error) {
      fail(path, error);
      return undefined;
    }
    try {
      const type = typeOfMode(st.mode);
      if (type === 'dir') {
        const subtree = await dirTree(
          path,
          excluder,
          previous?.type === 'dir' ? previous.subtree : undefined,
        );
        if (subtree === undefined) return undefined;
        return {
          name,
          type: 'dir',
          mode: Number(st.mode & 0o7777n),
          mtime: `${st.mtimeNs}`,
          ..._owners(st),
          subtree,
        };
      }
      if (type === 'symlink') {
        stats.files++;
        return {
          name,
          type: 'symlink',
          mode: Number(st.mode & 0o7777n),
          mtime: `${st.mtimeNs}`,
          ..._owners(st),
          linkTarget: await readlink(path),
        };
      }
      if (type === 'file') return await fileNode(path, name, st, previous, undefined, same);
      if (type === 'fifo')
        return {
          name,
          type: 'fifo',
          mode: Number(st.mode & 0o7777n),
          mtime: `${st.mtimeNs}`,
          ..._owners(st),
        };
      // As tar and restic's restore do: a socket is made by whatever listens on it, and one
      // in a tree (an agent's, a database's) must not make every backup partial.
      if (type === 'socket') options.onSkipped?.(path, 'a socket: not backed up');
      else fail(path, new Error('not a regular file, directory, symlink or FIFO: skipped'));
    } catch (error) {
      if (signal?.aborted) throw error;
      fail(path, error);
    }
    return undefined;
  };

  /** Stores the folder at `path`; `outer` is the excluder of the folder that holds it. */
  const dirTree = async (
    path: string,
    outer: Excluder,
    parent: string | undefined,
  ): Promise<string | undefined> => {
    const parentTree = listed(parent);
    let entries: readonly Dirent[];
    let excluder: Excluder;
    let seen = options.seen?.take(path);
    try {
      // File types come with the listing (no lstat per entry just to apply excludes).
      if (seen) entries = seen.entries;
      else {
        const listing = await listFolder(path);
        entries = listing.entries;
        for (const name of listing.undecodable)
          fail(childPath(path, name), new Error(`name is not valid UTF-8: ${name}; not backed up`));
      }
      excluder = await outer.enter(path, entries);
    } catch (error) {
      fail(path, error);
      return undefined;
    }
    stats.dirs++;
    const memo = options.memo;
    const remembered = memo?.lookup(path);
    if (remembered?.digest !== undefined && remembered.tree === parentTree) {
      // A folder the scan did not get to (it stops when the walk starts) is stat'ed now, as the
      // walk would stat its entries one by one anyway: the memo may spare reading its tree.
      seen ??= seeFolder(path, entries, excluder);
      const now = summarizeSeen(path, seen, excluder, ignoreCtime);
      if (now?.digest === remembered.digest) {
        const tree = await unchangedFolder(path, now, remembered, excluder);
        if (tree !== undefined) return tree;
      }
    }
    // A new folder's files are all new: the work waiting for the codec workers grows with them
    // (a first backup), so heaps are sized for memory from here on.
    if (parentTree === undefined) favourMemoryOverSpeed();
    // A name an older backup held twice is left out (see parentNodes), and the parent's tree,
    // which holds it, is then never this folder's.
    let twice = false;
    const parentList = parentTree
      ? await repo.readTree(parentTree, signal, { onDuplicate: () => void (twice = true) })
      : [];
    const previous = new Map(parentList.map((n) => [n.name, n]));
    // A new folder's subfolders are walked a few at a time (see NEW_FOLDERS_IN_FLIGHT); those of
    // a folder backed up before, at full width, since most of their work is reading old trees.
    const folderLimit = parentTree === undefined ? pLimit(NEW_FOLDERS_IN_FLIGHT) : undefined;
    const nodes = (
      await _mapWindow(entries, ENTRIES_IN_FLIGHT, async (entry, i) => {
        const name = entry.name;
        const child = childPath(path, name);
        const folder = entry.isDirectory();
        if (excluder.excludes(child, folder)) return undefined;
        const node = () =>
          entryNode(
            child,
            name,
            excluder,
            reusable(previous.get(name)),
            entry.isFile(),
            seen && statAt(seen, i),
          );
        return folder && folderLimit ? folderLimit(node) : node();
      })
    ).filter((n): n is TreeNode => n !== undefined);
    // A folder whose nodes all equal the parent backup's is the parent's tree, already stored:
    // no encoding, hashing or index lookup (most folders of a re-backup).
    const tree =
      parentTree !== undefined && !twice && _sameNodes(nodes, parentList)
        ? parentTree
        : await session.saveTree(nodes, signal);
    memo?.record(path, tree, nodesDigest(nodes, ignoreCtime));
    return tree;
  };

  /**
   * A folder whose own entries (`now`) the memo shows unchanged since the parent backup, whose
   * tree `remembered.tree` is: its files are the parent's nodes, so only its subfolders are
   * walked. Its tree is the parent's when they come out as before, else the parent's nodes with
   * their new subtrees. Undefined (the caller walks it as any other) when the memo lacks a
   * subfolder.
   */
  const unchangedFolder = async (
    path: string,
    now: SeenSummary,
    remembered: MemoFolder,
    excluder: Excluder,
  ): Promise<string | undefined> => {
    const memo = options.memo as FolderMemo;
    const folders: { name: string; path: string; tree: string }[] = [];
    for (const name of now.subfolders) {
      const child = childPath(path, name);
      const tree = memo.lookup(child)?.tree;
      if (tree === undefined) return undefined;
      folders.push({ name, path: child, tree });
    }
    stats.files += now.files;
    stats.unchangedFiles += now.files;
    stats.bytes += now.bytes;
    stats.bytesUnchanged += now.bytes;
    const subtrees = await _mapWindow(folders, ENTRIES_IN_FLIGHT, (f) =>
      dirTree(f.path, excluder, f.tree),
    );
    if (subtrees.every((tree, i) => tree === folders[i]?.tree)) {
      memo.record(path, remembered.tree, remembered.digest);
      return remembered.tree;
    }
    // A subfolder changed (or failed, and is left out, as the walk leaves it out).
    const changed = new Map(folders.map((f, i) => [f.name, subtrees[i]]));
    const parentList = await repo.readTree(remembered.tree, signal);
    const nodes = parentList.flatMap((node): TreeNode[] => {
      if (node.type !== 'dir') return [node];
      const subtree = changed.get(node.name);
      return subtree === undefined ? [] : [{ ...node, subtree }];
    });
    const tree = await session.saveTree(nodes, signal);
    memo.record(path, tree, nodesDigest(nodes, ignoreCtime));
    return tree;
  };

  // The root mirrors the absolute paths: a trie of their components down to each backed-up path.
  const excluder = createExcluder(options.exclude ?? []);
  const ancestorTree = async (
    path: string,
    targets: readonly string[],
    parentTree: string | undefined,
  ): Promise<string> => {
    const previous = await parentNodes(parentTree);
    const children = new Map<string, string[]>();
    for (const target of targets) {
      const rest = target.slice(path.length).split(sep).filter(Boolean);
      const head = rest[0];
      if (head !== undefined) children.set(head, [...(children.get(head) ?? []), target]);
    }
    const nodes: TreeNode[] = [];
    for (const [name, below] of children) {
      const child = join(path, name);
      const prev = reusable(previous.get(name));
      if (below.includes(child)) {
        const node = await entryNode(child, name, await excluder.enter(parse(child).dir), prev);
        if (node) nodes.push(node);
      } else {
        // Followed to reach what is below it: a link here is recorded as the folder it leads to
        // (its own mode, 0777, would make the restored folder writable by all).
        const st = await stat(child, { bigint: true });
        const subtree = await ancestorTree(
          child,
          below,
          prev?.type === 'dir' ? prev.subtree : undefined,
        );
        nodes.push({
          name,
          type: 'dir',
          mode: Number(st.mode & 0o7777n),
          mtime: `${st.mtimeNs}`,
          ..._owners(st),
          subtree,
        });
      }
    }
    return session.saveTree(nodes, signal);
  };
  const targets = _withoutNested(options.paths);
  const root = parse(targets[0] ?? sep).root;
  // The root itself (`hbr backup /`): its tree is the root folder's, with nothing above it.
  const tree = targets.includes(root)
    ? ((await dirTree(root, excluder, options.parentTree)) ?? (await session.saveTree([], signal)))
    : await ancestorTree(root, targets, options.parentTree);
  report();
  return { tree, stats, errors, changedWhileReading: changed };
}

// --- internal ---

/** `previous` if a file with stat `st` is it (see `_unchangedSince`). */
function _unchangedFile(
  previous: TreeNode | undefined,
  st: FileVersion,
  ignoreCtime: boolean,
): (TreeNode & { content: string[] }) | undefined {
  return _unchangedSince(previous, st, ignoreCtime) ? previous : undefined;
}

/** A large file of more than one link, read in this run (see `largeByInode`). */
interface _LargeRead {
  /** Its links not met yet. */
  linksLeft: number;
  /** What was read: undefined when it failed or changed while read. */
  readonly read: Promise<_Version | undefined>;
}

/** What a later link of a file read is compared with, and the content read. */
interface _Version {
  readonly size: number;
  readonly mtime: string;
  readonly ctime: string;
  readonly content: string[];
}

/** What is kept of a node read whole, to give its content to a later link; not the node. */
function _version(node: TreeNode): _Version | undefined {
  const { size, mtime, ctime, content } = node;
  if (size === undefined || ctime === undefined || content === undefined) return undefined;
  return node.changedWhileReading ? undefined : { size, mtime, ctime, content };
}

/**
 * `read` when it was read from the file (of the same inode) with stat `st` as it is now (same
 * size, mtime and ctime), whole: a hard link of it holds that content.
 */
function _sameVersion(read: _Version | undefined, st: FileVersion): _Version | undefined {
  return read &&
    read.size === Number(st.size) &&
    read.mtime === `${st.mtimeNs}` &&
    read.ctime === `${st.ctimeNs}`
    ? read
    : undefined;
}

/** A file node's fields from its stat. */
function _fileBase(name: string, st: FileVersion) {
  return {
    name,
    type: 'file' as const,
    mode: Number(st.mode & 0o7777n),
    mtime: `${st.mtimeNs}`,
    ..._owners(st),
    size: Number(st.size),
    inode: `${st.dev}:${st.ino}`,
    ctime: `${st.ctimeNs}`,
    ..._links(st),
    ..._sparse(st),
  };
}

/**
 * A file's link count as its node records it: only when it has more than one link, so the nodes
 * (and trees) of files without links are as they were before hbr recorded it.
 */
function _links(st: { readonly nlink: bigint }): { links?: number } {
  return st.nlink > 1n ? { links: Number(st.nlink) } : {};
}

/**
 * Whether a file is sparse, as its node records it: only when it is, so the nodes (and trees) of
 * other files are as they were before hbr recorded it.
 */
function _sparse(st: { readonly size: bigint; readonly blocks: bigint }): { sparse?: true } {
  return _isSparse(st) ? { sparse: true } : {};
}

/** Whether a file is sparse by its stat (compared so for an unchanged file, without an object). */
function _isSparse(st: { readonly size: bigint; readonly blocks: bigint }): boolean {
  return isSparse(Number(st.size), Number(st.blocks));
}

/** An entry's numeric owner and group, as its node keeps them. */
function _owners(st: { readonly uid: bigint; readonly gid: bigint }): { uid: number; gid: number } {
  return { uid: Number(st.uid), gid: Number(st.gid) };
}

/**
 * Whether a file with stat `st` is `previous`, stored whole, by size, mtime, inode and ctime
 * (unless `ignoreCtime`). A node without a ctime (stored before hbr kept one) does not match
 * then: its file is read once more.
 */
function _unchangedSince(
  previous: TreeNode | undefined,
  st: FileVersion,
  ignoreCtime: boolean,
): previous is TreeNode & { content: string[] } {
  return (
    previous?.type === 'file' &&
    previous.size === Number(st.size) &&
    previous.mtime === `${st.mtimeNs}` &&
    previous.inode === `${st.dev}:${st.ino}` &&
    (ignoreCtime || previous.ctime === `${st.ctimeNs}`) &&
    previous.content !== undefined &&
    !previous.changedWhileReading
  );
}

/**
 * Whether two sorted node lists are the same tree: same names in the same order, every field
 * equal. `encodeTree` keeps only known fields and sorts by name, so equal lists encode to the
 * same bytes, hence the same tree id.
 */
function _sameNodes(nodes: readonly TreeNode[], parent: readonly TreeNode[]): boolean {
  if (nodes.length !== parent.length) return false;
  for (let i = 0; i < nodes.length; i++) {
    // Field by field over whatever keys the nodes have, so a field added to TreeNode later is
    // compared too.
    const a = nodes[i] as unknown as Record<string, unknown>;
    const b = parent[i] as unknown as Record<string, unknown>;
    if (a === b) continue;
    const keys = Object.keys(a).filter((key) => a[key] !== undefined);
    if (keys.length !== Object.keys(b).filter((key) => b[key] !== undefined).length) return false;
    for (const key of keys) {
      const x = a[key];
      const y = b[key];
      if (x === y) continue;
      if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
      if (x.some((item, j) => item !== y[j])) return false;
    }
  }
  return true;
}

/**
 * Entries of one folder processed at once. Folders nest, so this multiplies with depth; it
 * bounds how much of a large tree is in flight (the heap of a 20,000-file walk) while file reads
 * stay bounded by their own limits.
 */
const ENTRIES_IN_FLIGHT = 16;

/**
 * Subfolders of a new folder walked at once. At full width, a first backup three folders deep
 * had thousands of new files waiting for a codec worker, whose pending work outlived the young
 * generation and left the main thread's heap 30-40 MB larger (the benchmark's 20,000 files).
 */
const NEW_FOLDERS_IN_FLIGHT = 2;

/** `Promise.all(items.map(fn))` with at most `width` calls running; results in order. */
async function _mapWindow<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

/** One buffer as a byte stream. */
function _once(data: Buffer): AsyncIterable<Buffer> {
  return {
    [Symbol.asyncIterator]() {
      let done = data.length === 0;
      return {
        next(): Promise<IteratorResult<Buffer>> {
          if (done) return Promise.resolve({ done: true, value: undefined });
          done = true;
          return Promise.resolve({ done: false, value: data });
        },
      };
    },
  };
}

/** Drops paths inside other given paths: they are backed up once, as part of the outer one. */
function _withoutNested(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths)].sort();
  return sorted.filter(
    (p) => !sorted.some((q) => q !== p && p.startsWith(q.endsWith(sep) ? q : q + sep)),
  );
}

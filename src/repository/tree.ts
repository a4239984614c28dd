/**
 * Trees: the directory structure of a backup. A tree blob is the deterministic JSON of one
 * directory's nodes, sorted by name, so identical directories deduplicate. Database artifacts
 * are the file nodes of a backup's top-level tree.
 * @module
 */
import { IntegrityError } from '../errors.ts';
import { compareText } from '../util/compare-text.ts';

/** One entry of a directory. */
export interface TreeNode {
  name: string;
  /** `fifo`: a named pipe, recorded with its mode and mtime (it holds no content). */
  type: 'file' | 'dir' | 'symlink' | 'fifo';
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** Modification time, nanoseconds since the epoch, as a decimal string. */
  mtime: string;
  /**
   * Numeric owner and group (absent in nodes stored before hbr kept them): given back by a
   * restore that runs as root.
   */
  uid?: number | undefined;
  gid?: number | undefined;
  /** File: size in bytes. */
  size?: number | undefined;
  /** File: inode and device as decimal strings, to detect unchanged files. */
  inode?: string | undefined;
  /** File: status change time, nanoseconds since the epoch, as a decimal string. */
  ctime?: string | undefined;
  /**
   * File: its link count, when it had more than one link (absent otherwise, and in nodes stored
   * before hbr recorded it): a restore links the files of one backup that share its inode, and
   * only those (src/drivers/files/hard-links.ts).
   */
  links?: number | undefined;
  /**
   * File: it had fewer bytes allocated than its size (holes) when backed up; absent otherwise,
   * and in nodes stored before hbr recorded it. A restore leaves its zero blocks unwritten, so
   * they are holes again (src/drivers/files/sparse-writer.ts); a file not sparse is written whole, since
   * a file of allocated zeros may be relied on (a database's preallocated log).
   */
  sparse?: true | undefined;
  /** File: blob ids of the content, in order. */
  content?: string[] | undefined;
  /** File: SHA-256 of the whole content, checked on restore. */
  sha256?: string | undefined;
  /** File: the content changed while it was being read; stored bytes may be torn. */
  changedWhileReading?: true | undefined;
  /** Directory: its tree blob id. */
  subtree?: string | undefined;
  /** Symlink: the link's target, as stored in the link. */
  linkTarget?: string | undefined;
}

/**
 * The order of a tree's nodes: by name, in UTF-16 code units. A walk that lists a folder in this
 * order can compare its nodes with the parent tree's one by one.
 */
export function byName(a: { readonly name: string }, b: { readonly name: string }): number {
  return compareText(a.name, b.name);
}

/**
 * Serialises a directory deterministically (sorted nodes, fixed key order, unknown keys left out).
 * @throws IntegrityError when a node is malformed (a bug in the caller).
 */
export function encodeTree(nodes: readonly TreeNode[]): Buffer {
  const sorted = [...nodes].sort(byName);
  return Buffer.from(
    JSON.stringify({
      nodes: sorted.map((n) => {
        const node = _node(n);
        if (!node) throw new IntegrityError(`tree node ${JSON.stringify(n.name)}: malformed`);
        return node;
      }),
    }),
  );
}

/**
 * Parses a tree blob. A name held twice fails it, unless `onDuplicate` is given: then every node
 * of that name is left out and the name passed to it, once (older backups could record one name
 * twice from names that were not UTF-8; which node is the right one cannot be told).
 * @throws IntegrityError when the blob is not a valid tree.
 */
export function decodeTree(
  bytes: Buffer,
  what: string,
  onDuplicate?: (name: string) => void,
): TreeNode[] {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new IntegrityError(`${what}: not a tree`, { cause: error });
  }
  const list = _isObject(json) ? json.nodes : undefined;
  if (!Array.isArray(list)) throw new IntegrityError(`${what}: malformed tree`);
  const nodes: TreeNode[] = new Array<TreeNode>(list.length);
  for (let i = 0; i < list.length; i++) {
    const node = _node(list[i]);
    if (!node) throw new IntegrityError(`${what}: malformed tree`);
    nodes[i] = node;
  }
  // A name is one path segment, once per folder: a tree written by anyone holding a key (another
  // host's hbr, or a forger) must not make a restore write outside its target, or twice.
  const names = new Set<string>();
  const twice = new Set<string>();
  for (const { name } of nodes) {
    if (name === '.' || name === '..' || name.includes('/') || name.includes('\0'))
      throw new IntegrityError(`${what}: the name ${JSON.stringify(name)} is not a file name`);
    if (names.has(name) && !onDuplicate) throw nameTwiceError(what, name);
    if (names.has(name)) twice.add(name);
    names.add(name);
  }
  if (twice.size === 0) return nodes;
  for (const name of twice) onDuplicate?.(name);
  return nodes.filter((node) => !twice.has(node.name));
}

/** What {@link decodeTree} throws for a name held twice, when not told of it. */
export function nameTwiceError(what: string, name: string): IntegrityError {
  return new IntegrityError(`${what}: the name ${JSON.stringify(name)} twice`);
}

// --- internal ---

// Checked by hand rather than with a schema library: a re-backup decodes every tree of the
// parent backup (20,000 nodes for 20,000 files), and this is several times faster.
const HEX64 = /^[0-9a-f]{64}$/;
const INTEGER = /^-?\d+$/;
const TYPES: ReadonlySet<unknown> = new Set(['file', 'dir', 'symlink', 'fifo']);

/** The node with its fields in the fixed order and nothing else, or undefined when malformed. */
function _node(value: unknown): TreeNode | undefined {
  if (!_isObject(value)) return undefined;
  const { name, type, mode, mtime, uid, gid, size, inode, ctime, links, sparse, content } = value;
  const { sha256 } = value;
  const { changedWhileReading, subtree, linkTarget } = value;
  if (typeof name !== 'string' || name.length === 0 || !TYPES.has(type)) return undefined;
  if (!_count(mode) || typeof mtime !== 'string' || !INTEGER.test(mtime)) return undefined;
  const node = { name, type, mode, mtime } as TreeNode;
  if (uid !== undefined || gid !== undefined) {
    if (!_count(uid) || !_count(gid)) return undefined;
    node.uid = uid;
    node.gid = gid;
  }
  if (size !== undefined) {
    if (!_count(size)) return undefined;
    node.size = size;
  }
  if (inode !== undefined) {
    if (typeof inode !== 'string') return undefined;
    node.inode = inode;
  }
  if (ctime !== undefined) {
    if (typeof ctime !== 'string' || !INTEGER.test(ctime)) return undefined;
    node.ctime = ctime;
  }
  if (links !== undefined) {
    if (!_count(links)) return undefined;
    node.links = links;
  }
  if (sparse !== undefined) {
    if (sparse !== true) return undefined;
    node.sparse = true;
  }
  if (content !== undefined) {
    if (!Array.isArray(content) || !content.every(_isId)) return undefined;
    node.content = content;
  }
  if (sha256 !== undefined) {
    if (!_isId(sha256)) return undefined;
    node.sha256 = sha256;
  }
  if (changedWhileReading !== undefined) {
    if (changedWhileReading !== true) return undefined;
    node.changedWhileReading = true;
  }
  if (subtree !== undefined) {
    if (!_isId(subtree)) return undefined;
    node.subtree = subtree;
  }
  if (linkTarget !== undefined) {
    if (typeof linkTarget !== 'string') return undefined;
    node.linkTarget = linkTarget;
  }
  return node;
}

function _isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function _count(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function _isId(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}

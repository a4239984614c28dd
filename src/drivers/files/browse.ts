/**
 * Reading a backup's tree without restoring it: `hbr ls` and `hbr diff`.
 * @module
 */
import { NotFoundError } from '../../errors.ts';
import { printable } from '../../util/printable.ts';
import {
  createCachedTreeReader,
  createTreeReader,
  foldersBelow,
  type OpenRepository,
  type TreeNode,
} from '../../repository/index.ts';
import type { RecordedField } from './recorded-fields.ts';

/** A tree node with its full path in the backup. */
export interface ListedNode {
  readonly path: string;
  readonly type: TreeNode['type'];
  readonly mode: number;
  readonly size?: number;
  /** ISO 8601 (millisecond precision). */
  readonly mtime: string;
  readonly linkTarget?: string;
  /** Numeric owner and group, when recorded (backups made before hbr kept them have none). */
  readonly uid?: number;
  readonly gid?: number;
  /**
   * A file's link count when it had hard links (more than one), which a restore makes again;
   * absent otherwise, and in backups made before hbr recorded it.
   */
  readonly links?: number;
  /** A file that had holes when backed up, given back as holes by a restore. */
  readonly sparse?: true;
  /** A file that changed while it was read: its stored bytes may be torn. */
  readonly changedWhileReading?: true;
}

/**
 * Lists every node of a tree at or below `path` (the whole tree when omitted), depth first.
 * @throws NotFoundError when `path` is not in the tree.
 */
export async function listTree(
  repo: OpenRepository,
  tree: string,
  path = '/',
): Promise<ListedNode[]> {
  const parts = path.split('/').filter(Boolean);
  const trees = createTreeReader(repo);
  let nodes = await trees.read(tree);
  let prefix = '';
  let start: TreeNode | undefined;
  for (const [i, part] of parts.entries()) {
    start = nodes.find((n) => n.name === part);
    if (!start) throw new NotFoundError(`${printable(path)}: not in this backup`);
    prefix += `/${part}`;
    if (i < parts.length - 1) {
      if (start.type !== 'dir' || !start.subtree)
        throw new NotFoundError(`${printable(path)}: not in this backup`);
      nodes = await trees.read(start.subtree);
    }
  }
  const out: ListedNode[] = [];
  const walk = async (list: readonly TreeNode[], at: string): Promise<void> => {
    // The folders' trees are read while the walk goes through what comes before them, and those of
    // the folders inside them as they arrive.
    trees.ahead(foldersBelow(list));
    for (const node of list) {
      const p = `${at}/${node.name}`;
      out.push(_listed(p, node));
      if (node.type === 'dir' && node.subtree) await walk(await trees.read(node.subtree), p);
    }
  };
  if (start) {
    out.push(_listed(prefix, start));
    if (start.type === 'dir' && start.subtree) await walk(await trees.read(start.subtree), prefix);
  } else {
    await walk(nodes, '');
  }
  return out;
}

/** One difference between two backups. */
export interface TreeChange {
  readonly path: string;
  /**
   * `+` added, `-` removed, `M` content changed, `T` type changed, `U` metadata only (mode, mtime,
   * owner or group; a file's link count or sparseness).
   */
  readonly change: '+' | '-' | 'M' | 'T' | 'U';
  /** Of a `U`: what changed (`owner`: the owner or the group). */
  readonly changed?: readonly MetadataField[];
}

/** The metadata a `U` change names. */
export type MetadataField = 'mode' | 'mtime' | 'owner' | RecordedField;

/**
 * Compares two trees; identical subtrees (same id) are skipped without reading them. A folder's
 * own mode or mtime is a change (`U`) at or below one of `paths` (the backed-up paths, when
 * given): the folders above them are only the way to reach them, and their times move with
 * everything else in them (a backup of /tmp/x would show /tmp every time). A file's link count
 * and sparseness are compared only as far as both backups recorded them (`recorded`, from
 * recorded-fields.ts `recordedByBoth`): none by default.
 */
export async function diffTrees(
  repo: OpenRepository,
  a: string,
  b: string,
  paths?: readonly string[],
  recorded: readonly RecordedField[] = [],
): Promise<TreeChange[]> {
  const changes: TreeChange[] = [];
  const backedUp = (path: string): boolean =>
    !paths || paths.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`));
  // Through the tree cache: both backups may hold a folder the same under two names.
  const trees = createCachedTreeReader(repo);
  const all = async (tree: string | undefined, at: string, change: '+' | '-'): Promise<void> => {
    if (!tree) return;
    const nodes = await trees.read(tree);
    trees.ahead(foldersBelow(nodes));
    for (const node of nodes) {
      changes.push({ path: `${at}/${node.name}`, change });
      if (node.type === 'dir') await all(node.subtree, `${at}/${node.name}`, change);
    }
  };
  /** @returns whether an entry right inside was added, removed or replaced by another type. */
  const compare = async (ta: string, tb: string, at: string): Promise<boolean> => {
    if (ta === tb) return false;
    let entriesChanged = false;
    const [leftNodes, rightNodes] = await Promise.all([trees.read(ta), trees.read(tb)]);
    const left = new Map(leftNodes.map((n) => [n.name, n]));
    const right = new Map(rightNodes.map((n) => [n.name, n]));
    // The trees of the folders that differ, on either side, are read while these are compared.
    trees.ahead(
      [...left.values(), ...right.values()].flatMap((node) => {
        const other = (left.get(node.name) === node ? right : left).get(node.name);
        return node.type === 'dir' && node.subtree && node.subtree !== other?.subtree
          ? [node.subtree]
          : [];
      }),
    );
    const names = [...new Set([...left.keys(), ...right.keys()])].sort();
    for (const name of names) {
      const x = left.get(name);
      const y = right.get(name);
      const path = `${at}/${name}`;
      if (!x || !y || x.type !== y.type) entriesChanged = true;
      if (!x && y) {
        changes.push({ path, change: '+' });
        if (y.type === 'dir') await all(y.subtree, path, '+');
      } else if (x && !y) {
        changes.push({ path, change: '-' });
        if (x.type === 'dir') await all(x.subtree, path, '-');
      } else if (x && y) {
        if (x.type !== y.type) {
          // What was below a folder is gone, or new below one, as with `-` and `+`.
          changes.push({ path, change: 'T' });
          if (x.type === 'dir') await all(x.subtree, path, '-');
          if (y.type === 'dir') await all(y.subtree, path, '+');
        } else if (x.type === 'dir') {
          // A folder's own mode or mtime, before what changed below it. Its mtime moves whenever
          // an entry is added or removed, which the lines below it already show.
          const at = changes.length;
          const entries = await compare(x.subtree ?? '', y.subtree ?? '', path);
          const changed = _metadataChanged(x, y, []).filter((f) => f !== 'mtime' || !entries);
          if (changed.length > 0 && backedUp(path))
            changes.splice(at, 0, { path, change: 'U', changed });
        } else if (!_sameContent(x, y) || x.linkTarget !== y.linkTarget || x.size !== y.size)
          changes.push({ path, change: 'M' });
        else {
          const changed = _metadataChanged(x, y, recorded);
          if (changed.length > 0) changes.push({ path, change: 'U', changed });
        }
      }
    }
    return entriesChanged;
  };
  await compare(a, b, '');
  return changes;
}

// --- internal ---

function _listed(path: string, node: TreeNode): ListedNode {
  return {
    path,
    type: node.type,
    mode: node.mode,
    ...(node.size !== undefined ? { size: node.size } : {}),
    mtime: new Date(Number(BigInt(node.mtime) / 1_000_000n)).toISOString(),
    ...(node.linkTarget !== undefined ? { linkTarget: node.linkTarget } : {}),
    ...(node.uid !== undefined ? { uid: node.uid } : {}),
    ...(node.gid !== undefined ? { gid: node.gid } : {}),
    ...(node.links !== undefined ? { links: node.links } : {}),
    ...(node.sparse ? { sparse: true as const } : {}),
    ...(node.changedWhileReading ? { changedWhileReading: true as const } : {}),
  };
}

/**
 * The metadata that differs between two nodes of one entry. A link made or removed (`ln`, `rm` of
 * its other name) moves only a file's ctime, and holes punched or filled keep its bytes: the
 * `recorded` fields (link count, sparseness) tell those.
 */
function _metadataChanged(
  x: TreeNode,
  y: TreeNode,
  recorded: readonly RecordedField[],
): MetadataField[] {
  const changed: MetadataField[] = [];
  if (x.mode !== y.mode) changed.push('mode');
  if (x.mtime !== y.mtime) changed.push('mtime');
  if (_ownerChanged(x, y)) changed.push('owner');
  for (const field of recorded) if (x[field] !== y[field]) changed.push(field);
  return changed;
}

/**
 * Whether the owner or group changed. Only between nodes that both record them: against a backup
 * made before owners were kept, every entry would show as changed.
 */
function _ownerChanged(x: TreeNode, y: TreeNode): boolean {
  if (x.uid === undefined || y.uid === undefined) return false;
  return x.uid !== y.uid || x.gid !== y.gid;
}

/** Same bytes: the blob ids (keyed hashes of the content) match, in order. */
function _sameContent(x: TreeNode, y: TreeNode): boolean {
  const a = x.content ?? [];
  const b = y.content ?? [];
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

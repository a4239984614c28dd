/**
 * Hard links among the files of a restore: files that were one file (one inode) when backed up
 * are restored as one file again, as restic and borg restore them, rather than as a copy each (a
 * folder of ten links to a 4 GB model came back as 40 GB).
 *
 * A file node records its link count (`links`) when the file had more than one link, as restic
 * records it: only those nodes are looked at, so a restore of files without links keeps nothing
 * for them, and its memory stays flat in the number of files. Two such nodes of one backup are
 * links of one file when their `inode` (device and inode number) is the same and so are their
 * size, content, mtime, ctime, mode and owners: an inode freed and given to another file while
 * the backup ran has another ctime (and mostly another content), and is not linked. Backups made
 * before hbr recorded link counts have none: their files are restored as a copy each, as they
 * always were.
 *
 * The first node of a file the restore meets (its leader) is restored as any file is, and its
 * identity (device and inode number) is taken from the descriptor it was written through; the
 * later ones (its followers) are held, a window's worth at most, and once every file restored so
 * far is written, each is made by `link(leader, temporary name)` then `rename` into place (so the
 * memory of a restore of many links stays flat): nothing torn is ever under a final
 * name, and `overwrite` replaces a file at once, as a restored file does. `link` follows symbolic
 * links in the folders of the leader's path: a link is kept only when it is of the file the
 * restore wrote (its identity), never of one outside the target a folder swapped since for a
 * symbolic link leads to (a root restore into a user's folders linked a root file to a name of
 * theirs).
 * @module
 */
import { link, lstat, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LimitFunction } from 'p-limit';
import type { TreeNode } from '../../repository/index.ts';
import { settleAll } from '../../util/settle-all.ts';
import { fileIdentity } from '../../util/file-identity.ts';
import { tempName } from './temp-names.ts';

/** An entry the restore walks: its path in the backup (`/srv/x/a.bin`) and its node. */
export interface WalkedEntry {
  readonly path: string;
  readonly node: TreeNode;
}

/**
 * A later link of a file the restore met before, and the path (in the backup) of that file. Its
 * node is that file's (the same content, times, mode and owners; only its name differs, which the
 * restore takes from `path`): a link keeps no node of its own, so ten links to a 4 GB model hold
 * one list of its 4,000 blob ids, not ten.
 */
export interface Follower extends WalkedEntry {
  readonly leader: string;
}

/** The link groups of a restore's files, found as its walk meets them. */
export interface LinkGroups {
  /**
   * Whether `entry` is a later link of a file met before: it is then held (in
   * {@link followers}), to be linked once the files met before it are restored. One Map lookup
   * per file.
   */
  hold(entry: WalkedEntry): boolean;
  /** The files held, in the order met. */
  readonly followers: readonly Follower[];
  /** How many files are kept to compare later links with (for tests). */
  readonly leaders: number;
  /**
   * Hands over the followers held (forgotten here), and the paths of the leaders whose links
   * were all met since the last call: no later file is a link of them, so once these followers
   * are linked, what the restore keeps of those leaders can go.
   */
  take(): { followers: Follower[]; complete: string[] };
}

/**
 * Link groups of one restore. What a later link is compared with is kept of each file of more
 * than one link met (about half a kilobyte), until its other links were met; nothing of the
 * others.
 */
export function createLinkGroups(): LinkGroups {
  const leaders = new Map<string, _Leader>();
  // Further files of an inode that was reused while the backup ran: seldom any.
  const reused = new Map<string, _Leader[]>();
  let followers: Follower[] = [];
  let complete: string[] = [];
  /** Forgets a leader whose other links were all met: no further node is a link of it. */
  const met = (inode: string, leader: _Leader): void => {
    complete.push(leader.path);
    const others = reused.get(inode) ?? [];
    if (leaders.get(inode) === leader) {
      // Another file of the inode, met before, is still waiting for its links (A1 B1 A2 B2).
      const next = others.shift();
      if (next) leaders.set(inode, next);
      else leaders.delete(inode);
    } else others.splice(others.indexOf(leader), 1);
    if (others.length === 0) reused.delete(inode);
  };
  return {
    get followers() {
      return followers;
    },
    get leaders() {
      return leaders.size;
    },
    take() {
      const taken = { followers, complete };
      followers = [];
      complete = [];
      return taken;
    },
    hold(entry) {
      const { node } = entry;
      if (!mayBeLinked(node) || node.inode === undefined) return false;
      const first = leaders.get(node.inode);
      if (first === undefined) {
        leaders.set(node.inode, _leader(entry));
        return false;
      }
      const others = reused.get(node.inode);
      const leader = _sameFile(first, node) ? first : others?.find((o) => _sameFile(o, node));
      if (leader) {
        followers.push({ path: entry.path, node: leader.node, leader: leader.path });
        if (--leader.linksLeft <= 0) met(node.inode, leader);
        return true;
      }
      if (others) others.push(_leader(entry));
      else reused.set(node.inode, [_leader(entry)]);
      return false;
    },
  };
}

/**
 * Whether a node may be a link of another file restored, or another one of it: a file of more
 * than one link, of a known inode. A file restored that may be is a leader (its identity is taken
 * as it is written, see {@link LinkingOptions.identities}); nothing is taken of the others.
 */
export function mayBeLinked(node: TreeNode): boolean {
  return node.type === 'file' && node.inode !== undefined && (node.links ?? 0) >= 2;
}

/** What {@link makeLinks} needs of the restore. */
export interface LinkingOptions {
  /** The folder restored into. */
  readonly target: string;
  /** Where an entry goes in the target, its folder made. */
  readonly place: (entry: WalkedEntry) => Promise<string>;
  /** Paths (in the backup) of the files this restore failed: their followers are not linked. */
  readonly failedPaths: ReadonlySet<string>;
  /**
   * The identity (util/file-identity.ts) of each leader restored, by its path in the backup, from
   * the descriptor it was written through: what a link made must be a link of.
   */
  readonly identities: ReadonlyMap<string, string>;
  /** Bounds the links made at once. */
  readonly limit: LimitFunction;
  readonly signal?: AbortSignal | undefined;
  /** A follower linked into place. */
  readonly linked: (follower: Follower) => void;
  /** A follower that could be neither linked nor restored from its content. */
  readonly failed: (follower: Follower, error: unknown) => void;
  /**
   * A follower not linked, restored from its content: the code of the error of a file system
   * that could not link it, or {@link NOT_THE_FILE_RESTORED}.
   */
  readonly notLinked: (follower: Follower, code: string) => void;
}

/**
 * Makes each follower a link of its leader, restored in place: linked under a temporary name
 * beside it, checked, renamed into place.
 * @returns the followers to restore from their content: those whose leader failed or is no
 * longer the file restored, and those the file system could not link (see {@link LINK_REFUSALS});
 * all but the first passed to `notLinked`.
 * @throws only when aborted (what `failed` throws).
 */
export async function makeLinks(
  followers: readonly Follower[],
  options: LinkingOptions,
): Promise<Follower[]> {
  const { target, signal } = options;
  const fromContent: Follower[] = [];
  await settleAll(
    followers.map((follower) =>
      options.limit(async () => {
        signal?.throwIfAborted();
        if (options.failedPaths.has(follower.leader)) return void fromContent.push(follower);
        let temp: string | undefined;
        try {
          const path = await options.place(follower);
          temp = tempName(path);
          await link(join(target, follower.leader), temp);
          // Of the file this restore wrote, or not made: `link` follows a symbolic link put in
          // place of a folder on the leader's path since it was restored (in folders others may
          // write to), and would make this a link of a file outside the target.
          const identity = options.identities.get(follower.leader);
          const made = await lstat(temp, { bigint: true });
          if (identity === undefined || !made.isFile() || fileIdentity(made) !== identity) {
            await rm(temp, { force: true });
            options.notLinked(follower, NOT_THE_FILE_RESTORED);
            return void fromContent.push(follower);
          }
          await rename(temp, path);
          options.linked(follower);
        } catch (error) {
          if (temp !== undefined) await rm(temp, { force: true });
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== undefined && LINK_REFUSALS.has(code) && !signal?.aborted) {
            options.notLinked(follower, code);
            return void fromContent.push(follower);
          }
          options.failed(follower, error);
        }
      }),
    ),
  );
  return fromContent;
}

/**
 * Errors of `link` that say this file system cannot (or will no more) link this file: no hard
 * links at all (EPERM on FAT or exFAT, ENOTSUP, ENOSYS), the leader on another mount below the
 * target (EXDEV), or too many links to it (EMLINK).
 */
export const LINK_REFUSALS: ReadonlySet<string> = new Set([
  'EPERM',
  'EXDEV',
  'EMLINK',
  'ENOTSUP',
  'EOPNOTSUPP',
  'ENOSYS',
]);

/** Why a follower was not linked when what its leader's path holds is not the file restored. */
export const NOT_THE_FILE_RESTORED = 'not the file restored';

// --- internal ---

/** What is kept of a file met, to compare with later nodes of its inode, and for its links. */
interface _Leader {
  readonly path: string;
  readonly node: TreeNode;
  /** Its links not met yet (of those in the backup: some may not be). */
  linksLeft: number;
}

function _leader({ path, node }: WalkedEntry): _Leader {
  return { path, node, linksLeft: (node.links ?? 1) - 1 };
}

/**
 * Whether a node of a file's inode is a link of it: the same size, content, times, mode and
 * owners. (The link count is not compared: a link made or removed while the backup ran changed
 * it, and the ctime with it.)
 */
function _sameFile(leader: _Leader, b: TreeNode): boolean {
  const a = leader.node;
  if (
    a.size !== b.size ||
    a.mtime !== b.mtime ||
    a.ctime !== b.ctime ||
    a.mode !== b.mode ||
    a.uid !== b.uid ||
    a.gid !== b.gid
  )
    return false;
  const x = a.content ?? [];
  const y = b.content ?? [];
  return x.length === y.length && x.every((id, i) => id === y[i]);
}

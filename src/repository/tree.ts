/**
 * Trees: the directory structure of a backup. A tree blob is the deterministic JSON of one
 * directory's nodes, sorted by name, so identical directories deduplicate. Database artifacts
 * are the file nodes of a backup's top-level tree.
 * @module
 */
import { z } from 'zod';
import { IntegrityError } from '../errors.ts';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** One entry of a directory. */
export const NodeSchema = z.object({
  name: z.string().min(1),
  type: z.enum(['file', 'dir', 'symlink']),
  /** Permission bits (mode & 0o7777). */
  mode: z.number().int().nonnegative(),
  /** Modification time, nanoseconds since the epoch, as a decimal string. */
  mtime: z.string().regex(/^-?\d+$/),
  /** File: size in bytes. */
  size: z.number().int().nonnegative().optional(),
  /** File: inode and device as decimal strings, to detect unchanged files. */
  inode: z.string().optional(),
  /** File: blob ids of the content, in order. */
  content: z.array(hex64).optional(),
  /** File: SHA-256 of the whole content, checked on restore. */
  sha256: hex64.optional(),
  /** File: the content changed while it was being read; stored bytes may be torn. */
  changedWhileReading: z.literal(true).optional(),
  /** Directory: its tree blob id. */
  subtree: hex64.optional(),
  /** Symlink: the link's target, as stored in the link. */
  linkTarget: z.string().optional(),
});
export type TreeNode = z.infer<typeof NodeSchema>;

const TreeSchema = z.object({ nodes: z.array(NodeSchema) });

/** Serialises a directory deterministically (sorted nodes, fixed key order from the schema). */
export function encodeTree(nodes: readonly TreeNode[]): Buffer {
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return Buffer.from(JSON.stringify({ nodes: sorted.map((n) => NodeSchema.parse(n)) }));
}

/**
 * Parses a tree blob.
 * @throws IntegrityError when the blob is not a valid tree.
 */
export function decodeTree(bytes: Buffer, what: string): TreeNode[] {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new IntegrityError(`${what}: not a tree`, { cause: error });
  }
  const parsed = TreeSchema.safeParse(json);
  if (!parsed.success) throw new IntegrityError(`${what}: malformed tree`);
  return parsed.data.nodes;
}

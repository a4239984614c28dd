/**
 * Backup manifests: one sealed JSON object per backup under `snapshots/<sha256>`; the object's
 * name is the backup's id. Written last, after its packs and index, so a manifest never refers
 * to data that is not there.
 * @module
 */
import { z } from 'zod';
import { IntegrityError } from '../errors.ts';
import { openObject, sealObject, sha256Hex, type RepositoryKeys } from './crypto.ts';
import type { BackupRecord } from './types.ts';
import { parseJsonOrUndefined } from '../util/parse-json.ts';

const ManifestSchema = z.object({
  version: z.literal(1),
  source: z.string(),
  kind: z.string(),
  type: z.enum(['full', 'diff', 'log', 'snapshot']),
  startedAt: z.string(),
  finishedAt: z.string(),
  host: z.string(),
  paths: z.array(z.string()),
  tags: z.array(z.string()),
  parent: z.string().optional(),
  tree: z.string().regex(/^[0-9a-f]{64}$/),
  summary: z.object({
    files: z.number(),
    bytes: z.number(),
    addedBytes: z.number(),
    durationMs: z.number(),
  }),
  meta: z.record(z.string(), z.unknown()),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** The store key of a manifest. */
export function manifestKey(id: string): string {
  return `snapshots/${id}`;
}

/** Seals a manifest; returns its id (the object's name) and bytes. */
export function encodeManifest(
  keys: RepositoryKeys,
  manifest: Manifest,
): { id: string; bytes: Buffer } {
  const bytes = sealObject(keys, 'snapshot', Buffer.from(JSON.stringify(manifest)));
  return { id: sha256Hex(bytes), bytes };
}

/**
 * Opens a manifest and returns it as a backup record.
 * @throws IntegrityError when the object is damaged or does not match its name.
 */
export function decodeManifest(keys: RepositoryKeys, id: string, bytes: Buffer): BackupRecord {
  const what = `backup ${id.slice(0, 8)}`;
  if (sha256Hex(bytes) !== id) throw new IntegrityError(`${what}: does not match its name`);
  const opened = openObject(keys, 'snapshot', bytes, what);
  const parsed = ManifestSchema.safeParse(parseJsonOrUndefined(opened.toString('utf8')));
  if (!parsed.success) throw new IntegrityError(`${what}: malformed manifest`);
  const { version: _version, ...rest } = parsed.data;
  return { id, shortId: id.slice(0, 8), ...rest };
}

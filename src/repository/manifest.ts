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
    unreadable: z.number().optional(),
    changedWhileRead: z.number().optional(),
  }),
  meta: z.record(z.string(), z.unknown()),
});
export type Manifest = z.infer<typeof ManifestSchema>;

const BACKUP_ID = /^[0-9a-f]{64}$/;

/**
 * Whether `name` is a backup id (the SHA-256 of its manifest, in hex): an object under
 * `snapshots/` of any other name is no backup, whatever it holds (a note, a tool's leftover).
 */
export function isBackupId(name: string): boolean {
  return BACKUP_ID.test(name);
}

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
  return { id, shortId: id.slice(0, 8), ...rest, summary: _summaryOf(parsed.data) };
}

/**
 * A backup that stored no file and could not read something: every path failed (e.g. all
 * unreadable). `latest` passes over it rather than restore nothing in place of an older backup
 * that holds the files; its id still names it.
 */
export function isFailedBackup(backup: Pick<BackupRecord, 'summary'>): boolean {
  return backup.summary.files === 0 && (backup.summary.unreadable ?? 0) > 0;
}

// --- internal ---

/**
 * The summary, with the counts of what a files backup could not read or read torn taken from
 * its meta where a manifest written before the summary held them (`errors`, a count, and
 * `changedWhileReading`, the paths), so older incomplete backups are told as such too.
 */
function _summaryOf(manifest: Manifest): Manifest['summary'] {
  const { summary, meta } = manifest;
  const errors = meta['errors'];
  const torn = meta['changedWhileReading'];
  return {
    ...summary,
    ...(summary.unreadable === undefined && typeof errors === 'number'
      ? { unreadable: errors }
      : {}),
    ...(summary.changedWhileRead === undefined && Array.isArray(torn)
      ? { changedWhileRead: torn.length }
      : {}),
  };
}

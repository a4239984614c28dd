/**
 * Notes: small facts learnt about a backup after it was committed — a verification result, a
 * restore drill's checks. Manifests never change, so these are separate write-once objects,
 * `notes/<backup id>/<sha256>`: sealed JSON, named by the hash of their bytes, replicated with
 * the backup and removed when it is forgotten.
 * @module
 */
import { z } from 'zod';
import { isHbrError } from '../errors.ts';
import { openObject, sealObject, sha256Hex } from './crypto.ts';
import type { OpenRepository } from './repository.ts';
import { compareText } from '../util/compare-text.ts';
import { parseJsonOrUndefined } from '../util/parse-json.ts';

const NoteSchema = z.object({
  backupId: z.string().regex(/^[0-9a-f]{64}$/),
  kind: z.string().min(1),
  time: z.string(),
  data: z.record(z.string(), z.unknown()),
});

/** One note about a backup. */
export type Note = z.infer<typeof NoteSchema>;

/** The folder of a backup's notes. */
export function notesPrefix(backupId: string): string {
  return `notes/${backupId}/`;
}

/**
 * Attaches a note to a committed backup (`kind` such as `verification` or `restore-check`).
 * @throws NotFoundError when there is no such backup.
 */
export async function addNote(
  repo: OpenRepository,
  backupId: string,
  kind: string,
  data: Record<string, unknown>,
): Promise<Note> {
  const backup = await repo.findBackup(backupId);
  const note: Note = { backupId: backup.id, kind, time: new Date().toISOString(), data };
  const bytes = sealObject(repo.keys, 'note', Buffer.from(JSON.stringify(note)));
  await repo.store.put(`${notesPrefix(backup.id)}${sha256Hex(bytes)}`, bytes);
  return note;
}

/** A backup's notes, oldest first. Damaged notes are skipped (check reports them). */
export async function listNotes(repo: OpenRepository, backupId: string): Promise<Note[]> {
  const backup = await repo.findBackup(backupId);
  const notes: Note[] = [];
  for await (const { key } of repo.store.list(notesPrefix(backup.id))) {
    try {
      const bytes = await repo.store.get(key);
      if (sha256Hex(bytes) !== key.slice(key.lastIndexOf('/') + 1)) continue;
      const parsed = NoteSchema.safeParse(
        parseJsonOrUndefined(openObject(repo.keys, 'note', bytes, key).toString('utf8')),
      );
      if (parsed.success && parsed.data.backupId === backup.id) notes.push(parsed.data);
    } catch (error) {
      if (!isHbrError(error)) throw error;
    }
  }
  return notes.sort((a, b) => compareText(a.time, b.time));
}

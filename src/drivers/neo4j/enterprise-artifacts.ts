/**
 * Moves neo4j-admin backup artifacts between a work folder and the repository: materialise a
 * chain stored in a backup as files, store files produced by a run, and find which files a run
 * produced. Artifact names are neo4j-admin's own file names, kept as they are: `database restore`
 * reads each artifact's header, but people and `backup inspect` read the names.
 * @module
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { IntegrityError, isHbrError, SourceError } from '../../errors.ts';
import type { ArtifactInfo, ArtifactRepository, BackupSession } from '../../repository/types.ts';

/**
 * Writes the artifacts `names` of backup `backupId` into `dir` under their own names. Every byte
 * is authenticated on the way out, so a damaged chain fails here, before anything is stopped.
 * @returns the files written, in the order given.
 * @throws IntegrityError naming the backup and artifact when one cannot be read back;
 *   SourceError when a file of that name already exists in `dir`.
 */
export async function materializeArtifacts(
  repo: ArtifactRepository,
  backupId: string,
  names: readonly string[],
  dir: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const files: string[] = [];
  for (const name of names) {
    const file = join(dir, checkName(name));
    try {
      // 'wx': a file already there is someone else's artifact; never overwrite it silently.
      await pipeline(
        repo.openArtifact(backupId, name, signal ? { signal } : {}),
        createWriteStream(file, { flags: 'wx' }),
        signal ? { signal } : {},
      );
    } catch (error) {
      if (isHbrError(error) && error.code === 'INTEGRITY') {
        throw new IntegrityError(
          `[neo4j:enterprise] backup ${backupId.slice(0, 8)}: artifact ${name} cannot be read back (${error.message})`,
          { cause: error },
        );
      }
      if ((error as { code?: string }).code === 'EEXIST') {
        throw new SourceError(`[neo4j:enterprise] ${file} already exists; refusing to overwrite`, {
          cause: error,
        });
      }
      throw error;
    }
    files.push(file);
  }
  return files;
}

/**
 * Stores the files `names` of `dir` in the backup session under their own names (chunked and
 * deduplicated like every artifact).
 */
export async function storeArtifacts(
  session: BackupSession,
  dir: string,
  names: readonly string[],
  signal?: AbortSignal,
): Promise<ArtifactInfo[]> {
  const stored: ArtifactInfo[] = [];
  for (const name of names) {
    const data = createReadStream(join(dir, checkName(name)), signal ? { signal } : {});
    stored.push(await session.addArtifact(name, data, signal ? { signal } : {}));
  }
  return stored;
}

/** The `*.backup` files of `dir`, sorted by name. */
export async function listBackupFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.backup'))
    .map((e) => e.name)
    .sort();
}

/**
 * The one artifact a run of `database backup` added to `dir`, given the files that were there.
 * @throws SourceError when the run added none or several.
 */
export function newArtifact(
  before: readonly string[],
  after: readonly string[],
  database: string,
): string {
  const added = after.filter((name) => !before.includes(name));
  if (added.length === 1 && added[0] !== undefined) return added[0];
  throw new SourceError(
    `[neo4j:enterprise] backup of ${database} produced ${added.length === 0 ? 'no' : `${added.length}`} new artifact(s)` +
      (added.length > 0 ? ` (${added.join(', ')})` : '') +
      '; expected exactly one <database>-<timestamp>.backup',
  );
}

// --- internal ---

/** Artifact names come from the backup's manifest: a path separator would leave `dir`. */
function checkName(name: string): string {
  if (name !== basename(name) || name === '.' || name === '..' || name === '') {
    throw new IntegrityError(`[neo4j:enterprise] artifact name "${name}" is not a plain file name`);
  }
  return name;
}

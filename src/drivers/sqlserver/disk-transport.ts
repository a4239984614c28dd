/**
 * The disk transport: BACKUP TO DISK into a staging folder that both SQL Server and hbr can see,
 * VERIFYONLY, read the header and file list, stream the stripes into the repository, delete the
 * staging files (also on failure). And the way back: stage a backup's artifacts for RESTORE.
 * @module
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArtifactInfo, ArtifactRepository, BackupSession } from '../../repository/types.ts';
import { backupFileNames } from './backup-names.ts';
import type { BackupSetRecord } from './backup-set.ts';
import { deviceOf, type BackupDevice } from './device.ts';
import type { ExecOptions, SqlExecutor } from './executor.ts';
import { metaFromHeader, type SqlServerBackupMeta } from './manifest-meta.ts';
import { readFileList, runBackup, verifyBackup, type ServerInfo } from './operations.ts';
import type { BackupOptions } from './tsql-backup.ts';

/** One folder under two names. */
export interface DiskStaging {
  /** As the SQL Server service account sees it (`/var/opt/mssql/staging`, `\\host\share\hbr`). */
  readonly serverPath: string;
  /** As hbr sees it (a local path or a mount of the same share). */
  readonly localPath: string;
}

/** What to back up. */
export interface DiskBackupRequest extends Omit<BackupOptions, 'devices'> {
  /** Number of stripes. @default 1 */
  readonly stripes?: number;
  /** Run RESTORE VERIFYONLY WITH CHECKSUM before ingesting. @default true */
  readonly verify?: boolean;
}

/** The result, ready for `session.commit({ meta })`. */
export interface DiskBackupResult {
  readonly meta: SqlServerBackupMeta;
  readonly artifacts: readonly ArtifactInfo[];
}

/**
 * Runs one backup through the staging folder into `session`.
 * @throws SourceError when BACKUP, VERIFYONLY or the header read fails; StoreError from the
 * repository. Staging files are removed in every case.
 */
export async function backupViaDisk(
  exec: SqlExecutor,
  info: ServerInfo,
  session: BackupSession,
  staging: DiskStaging,
  request: DiskBackupRequest,
  opts: ExecOptions & { now?: Date } = {},
): Promise<DiskBackupResult> {
  const names = backupFileNames(
    request.database,
    request.type,
    request.stripes ?? 1,
    opts.now ?? new Date(),
  );
  const devices: BackupDevice[] = names.map((name) =>
    deviceOf(serverJoin(staging.serverPath, name)),
  );
  try {
    const header = await runBackup(exec, info, { ...request, devices }, opts);
    const verified = request.verify === false ? null : true;
    if (verified) await verifyBackup(exec, devices, header, opts);
    const files = await readFileList(exec, info, devices, header.record.position, opts);
    const artifacts: ArtifactInfo[] = [];
    for (const name of names) {
      const stream = createReadStream(join(staging.localPath, name));
      artifacts.push(await session.addArtifact(name, stream, { signal: opts.signal }));
    }
    const meta = metaFromHeader(header, files, names, verified);
    return { meta, artifacts };
  } finally {
    await Promise.all(names.map((name) => rm(join(staging.localPath, name), { force: true })));
  }
}

/**
 * Writes the artifacts of backup sets out of the repository into the staging folder and returns
 * how SQL Server reaches each (for `buildRestoreScript({ deviceFor })`) and a cleanup function.
 * Each step's `files` are its repository artifact paths (see `recordFromMeta`).
 * @throws IntegrityError (from the repository) when an artifact fails verification.
 */
export async function stageForRestore(
  repository: ArtifactRepository,
  steps: readonly { backupId: string; record: BackupSetRecord }[],
  staging: DiskStaging,
  opts: { signal?: AbortSignal } = {},
): Promise<{
  deviceFor: (path: string, step: BackupSetRecord) => BackupDevice;
  cleanup: () => Promise<void>;
}> {
  const written: string[] = [];
  const where = new Map<string, string>();
  const cleanup = async (): Promise<void> => {
    await Promise.all(written.map((file) => rm(file, { force: true })));
  };
  try {
    for (const { backupId, record } of steps) {
      const dir = join(staging.localPath, backupId.slice(0, 16));
      await mkdir(dir, { recursive: true });
      for (const path of record.files) {
        const name = path.split('/').pop() ?? path;
        const local = join(dir, name);
        written.push(local);
        await pipeline(
          repository.openArtifact(backupId, path, opts),
          createWriteStream(local),
          opts,
        );
        where.set(
          `${record.backupSetGuid}\n${path}`,
          serverJoin(serverJoin(staging.serverPath, backupId.slice(0, 16)), name),
        );
      }
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  const deviceFor = (path: string, step: BackupSetRecord): BackupDevice =>
    deviceOf(where.get(`${step.backupSetGuid}\n${path}`) ?? path);
  return { deviceFor, cleanup };
}

// --- internal ---

/** Joins with the separator the server path uses (Windows engines `\`, Linux `/`). */
function serverJoin(dir: string, name: string): string {
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}

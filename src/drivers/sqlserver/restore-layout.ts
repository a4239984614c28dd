/**
 * Where a SQL Server restore puts things: MOVE targets for the restored files (computed from the
 * file list hbr recorded with the full), and the device paths of staged copies and of the
 * tail-log backup a dry run shows.
 * @module
 */
import type { BackupRecord } from '../../repository/types.ts';
import type { SqlServerSourceSettings } from './backup-source.ts';
import { sameDatabaseName } from './chain.ts';
import { deviceOf, type BackupDevice } from './device.ts';
import { UsageError } from '../../errors.ts';
import type { BackupFileEntry } from './headers.ts';
import { computeMoves, type FileMove } from './move.ts';
import type { ServerInfo } from './operations.ts';
import type { RestorePlan } from './plan.ts';

/**
 * MOVE for every file when restoring under another name (explicit `moves` win); in place, only
 * the explicit ones.
 * @throws UsageError when the full was taken outside hbr (no recorded file list) and not every
 * file has an explicit target, or `moves` names a file the backup lacks.
 */
export function movesFor(
  plan: RestorePlan,
  fullBackupId: string | null,
  backups: readonly BackupRecord[],
  info: ServerInfo,
  targetDatabase: string,
  request: { readonly moves?: Readonly<Record<string, string>> },
): FileMove[] {
  const overrides = request.moves ?? {};
  const inPlace = sameDatabaseName(targetDatabase, plan.database);
  if (inPlace && Object.keys(overrides).length === 0) return [];
  const meta = backups.find((b) => b.id === fullBackupId)?.meta;
  const files = Array.isArray(meta?.files) ? (meta.files as BackupFileEntry[]) : null;
  if (files === null) {
    if (inPlace || Object.keys(overrides).length > 0)
      return Object.entries(overrides).map(([logicalName, physicalName]) => ({
        logicalName,
        physicalName,
      }));
    throw new UsageError(
      `[sqlserver:restore] the full ${plan.steps[0]?.backupSetGuid ?? ''} was taken outside hbr, so its file list is unknown: give --move LOGICAL=PATH for every file`,
    );
  }
  const moves = computeMoves(files, {
    sourceDatabase: plan.database,
    targetDatabase,
    dataDirectory: info.dataPath,
    logDirectory: info.logPath,
    overrides,
  });
  return inPlace ? moves.filter((m) => m.logicalName.toLowerCase() in lower(overrides)) : moves;
}

/** Keys lower-cased (logical names compare case-insensitively). */
function lower(o: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Where `stageForRestore` puts an artifact, as the server sees it. */
export function stagedPath(serverPath: string, backupId: string, artifact: string): string {
  const sep = serverPath.includes('\\') && !serverPath.includes('/') ? '\\' : '/';
  const dir = serverPath.endsWith(sep) ? serverPath : serverPath + sep;
  return `${dir}${backupId.slice(0, 16)}${sep}${artifact.split('/').pop() ?? artifact}`;
}

/** Where a dry run says the tail-log backup would go. */
export function tailDevice(settings: SqlServerSourceSettings, info: ServerInfo): BackupDevice {
  void info;
  const name = `${settings.database.replace(/[^A-Za-z0-9_.-]+/g, '_')}_log_tail.bak`;
  const t = settings.transport;
  if (t.kind === 'disk') return deviceOf(stagedPath(t.staging.serverPath, 'tail-log', name));
  const base = (t.url.publicUrl ?? 'https://hbr-endpoint').replace(/\/+$/, '');
  return { kind: 'url', path: `${base}/${t.url.container ?? 'hbr'}/${name}` };
}

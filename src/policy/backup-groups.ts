/**
 * Which backups `hbr forget`'s keep rules weigh against each other: those of one source. A
 * source from the config is one group, whatever its paths did over time; backups of paths given
 * on the command line (the source `files`) are grouped by host and paths, as restic groups its
 * snapshots, since the newest backup of one folder says nothing about another's.
 * @module
 */
import type { BackupRecord } from '../repository/types.ts';

/** The name of a backup's group, as `forget` shows it. */
export function backupGroup(backup: Pick<BackupRecord, 'source' | 'host' | 'paths'>): string {
  if (backup.source !== AD_HOC_SOURCE) return backup.source;
  return `${backup.source} ${backup.host}:${[...backup.paths].sort().join(',')}`;
}

/** The source of backups of paths given on the command line (`hbr backup PATH…`). */
export const AD_HOC_SOURCE = 'files';

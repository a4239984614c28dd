/**
 * Which backups `hbr forget`'s keep rules weigh against each other. Backups of a files source
 * from the config are grouped by source and host, and those of paths given on the command line
 * (the source `files`) by host and paths, as restic groups its snapshots: the newest backup of a
 * tree on one machine says nothing about the same tree on another (`hbr backup` keeps hosts apart
 * too: a backup's parent is one of its own host). A database source (SQL Server, Neo4j) is one
 * group whatever host ran hbr: it names one database, whose backups may come from several
 * machines (availability-group replicas, an agent moved to a new server), and its restore chains
 * run across them.
 * @module
 */
import type { BackupRecord } from '../repository/types.ts';

/** The name of a backup's group, as `forget` shows it. */
export function backupGroup(
  backup: Pick<BackupRecord, 'source' | 'kind' | 'host' | 'paths'>,
): string {
  if (backup.source === AD_HOC_SOURCE)
    return `${backup.source} ${backup.host}:${[...backup.paths].sort().join(',')}`;
  if (backup.kind === 'files') return `${backup.source} ${backup.host}`;
  return backup.source;
}

/** The source of backups of paths given on the command line (`hbr backup PATH…`). */
export const AD_HOC_SOURCE = 'files';

/**
 * Backups written to the null device (`BACKUP LOG … TO DISK = 'NUL'`, a DBA's way to empty the log):
 * msdb records them like any backup, but their bytes are gone. Such a log breaks the log chain; it
 * is never a restore step, and the planner sees the gap it leaves.
 * @module
 */
import type { BackupSetRecord } from './backup-set.ts';
import { formatLsn } from './lsn.ts';

// msdb's physical_device_name as written in the BACKUP statement: `NUL`, `nul`, `NUL:`; also the
// Win32 device path, and /dev/null on SQL Server on Linux.
const NUL = /^(?:nul:?|\\\\\.\\nul|\/dev\/null)$/i;

/** Whether a backup device name is the null device. */
export function isNulDevice(path: string): boolean {
  return NUL.test(path.trim());
}

/** Whether a set was written (in part) to the null device: nothing of it can be restored. */
export function isDiscardedSet(record: BackupSetRecord): boolean {
  return record.files.some(isNulDevice);
}

/** What a user should know about a set written to the null device. */
export function discardedSetWarning(record: BackupSetRecord): string {
  const what = `a ${record.type} backup of ${record.database} at ${record.finish.toISOString()} (LSN ${formatLsn(record.firstLsn)} → ${formatLsn(record.lastLsn)}, ${record.backupSetGuid}) was written to ${record.files.join(', ')} and discarded`;
  return record.type === 'log'
    ? `${what}: the log chain breaks there, so no restore can pass that point without a later full or differential backup`
    : `${what}: it cannot be restored${record.type === 'full' && !record.isCopyOnly ? ', and differentials taken after it are based on it' : ''}`;
}

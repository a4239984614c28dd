/**
 * Backup devices: where SQL Server reads or writes a backup stream.
 * @module
 */
import { quoteString } from './quote.ts';

/** A file the engine can open (`DISK`) or a URL it streams to (`URL`: Azure block blob, S3). */
export interface BackupDevice {
  readonly kind: 'disk' | 'url';
  /** Path as the SQL Server service sees it, or the URL. */
  readonly path: string;
}

/** A device from a path: `http(s)://` and `s3://` are URLs, anything else a disk file. */
export function deviceOf(path: string): BackupDevice {
  return { kind: /^(https?|s3):\/\//i.test(path) ? 'url' : 'disk', path };
}

/**
 * `FILE = n`, the backup set's position on its media, as a list of zero or one option. Left out
 * for URL media at position 1: hbr's URL backups are one set per blob (FORMAT) and the backup-to-URL
 * documentation lists FILE among the RESTORE options it does not support.
 */
export function fileOption(devices: readonly BackupDevice[], position: number): string[] {
  return position === 1 && devices.some((d) => d.kind === 'url') ? [] : [`FILE = ${position}`];
}

/** `DISK = N'…', URL = N'…'` for a list of stripes. */
export function deviceList(devices: readonly BackupDevice[]): string {
  return devices
    .map((d) => `${d.kind === 'url' ? 'URL' : 'DISK'} = ${quoteString(d.path)}`)
    .join(', ');
}

/**
 * BACKUP DATABASE / BACKUP LOG statements (pure text). Option order follows Ola Hallengren's
 * DatabaseBackup; the rules come from the BACKUP documentation (research/sqlserver.md §4.1).
 * @module
 */
import { UsageError } from '../../errors.ts';
import type { BackupSetType } from './backup-set.ts';
import { deviceList, type BackupDevice } from './device.ts';
import { quoteName, quoteString } from './quote.ts';

/** Native backup encryption with a certificate in `master`. */
export interface BackupEncryption {
  readonly algorithm: 'AES_128' | 'AES_192' | 'AES_256' | 'TRIPLE_DES_3KEY';
  readonly serverCertificate: string;
}

/** Everything a BACKUP statement can say. */
export interface BackupOptions {
  readonly database: string;
  readonly type: BackupSetType;
  /** 1–64 stripes. */
  readonly devices: readonly BackupDevice[];
  /** @default true — SQL Server's own default is NO_CHECKSUM. */
  readonly checksum?: boolean;
  /** `true` COMPRESSION, `false` NO_COMPRESSION, absent: the server default. */
  readonly compression?: boolean;
  /** SQL Server 2022+: `MS_XPRESS`, `QAT_DEFLATE`, `ZSTD`. */
  readonly compressionAlgorithm?: string;
  readonly encryption?: BackupEncryption;
  /** Full and log only (a source's `copyOnly` leaves it off its differentials). */
  readonly copyOnly?: boolean;
  /** Bytes; a multiple of 64 KiB, at most 4 MiB to disk and 20 MiB to URL. */
  readonly maxTransferSize?: number;
  readonly bufferCount?: number;
  /** 512 to 65536, a power of two. */
  readonly blockSize?: number;
  /** Progress messages every n percent. @default 10 */
  readonly stats?: number;
  /** One backup set per file: `FORMAT, INIT` (URLs need FORMAT to overwrite). @default true */
  readonly format?: boolean;
  /** Log only: leave the database RESTORING (tail-log backup). */
  readonly noRecovery?: boolean;
  /** Log only: back up the log of a damaged database without truncating it. */
  readonly noTruncate?: boolean;
  readonly name?: string;
  readonly description?: string;
}

/**
 * Builds a BACKUP statement.
 * @throws UsageError on impossible combinations: no or more than 64 devices, COPY_ONLY on a
 * differential (SQL Server would silently ignore it), NORECOVERY/NO_TRUNCATE on a data backup,
 * out-of-range MAXTRANSFERSIZE/BLOCKSIZE/STATS, a description over 255 characters.
 */
export function buildBackup(o: BackupOptions): string {
  validate(o);
  const what = o.type === 'log' ? 'LOG' : 'DATABASE';
  const opts: string[] = [o.checksum === false ? 'NO_CHECKSUM' : 'CHECKSUM'];
  if (o.compression !== undefined) {
    const algo = o.compressionAlgorithm ? ` (ALGORITHM = ${o.compressionAlgorithm})` : '';
    opts.push(o.compression ? `COMPRESSION${algo}` : 'NO_COMPRESSION');
  }
  if (o.type === 'diff') opts.push('DIFFERENTIAL');
  if (o.copyOnly) opts.push('COPY_ONLY');
  if (o.noRecovery) opts.push('NORECOVERY');
  if (o.noTruncate) opts.push('NO_TRUNCATE');
  // Backup to URL supports no INIT/NOINIT (no appending to blobs): FORMAT alone overwrites.
  if (o.format !== false) opts.push(...(toUrl(o) ? ['FORMAT'] : ['FORMAT', 'INIT']));
  if (o.blockSize !== undefined) opts.push(`BLOCKSIZE = ${o.blockSize}`);
  if (o.bufferCount !== undefined) opts.push(`BUFFERCOUNT = ${o.bufferCount}`);
  if (o.maxTransferSize !== undefined) opts.push(`MAXTRANSFERSIZE = ${o.maxTransferSize}`);
  if (o.name !== undefined) opts.push(`NAME = ${quoteString(o.name)}`);
  if (o.description !== undefined) opts.push(`DESCRIPTION = ${quoteString(o.description)}`);
  opts.push(`STATS = ${o.stats ?? 10}`);
  if (o.encryption) {
    opts.push(
      `ENCRYPTION (ALGORITHM = ${o.encryption.algorithm}, SERVER CERTIFICATE = ${quoteName(o.encryption.serverCertificate)})`,
    );
  }
  return `BACKUP ${what} ${quoteName(o.database)} TO ${deviceList(o.devices)} WITH ${opts.join(', ')};`;
}

// --- internal ---

function toUrl(o: BackupOptions): boolean {
  return o.devices.some((d) => d.kind === 'url');
}

const ALGORITHMS = new Set(['MS_XPRESS', 'QAT_DEFLATE', 'ZSTD']);

function validate(o: BackupOptions): void {
  const fail = (why: string): never => {
    throw new UsageError(`[sqlserver:backup] ${o.database}: ${why}`);
  };
  if (o.devices.length === 0 || o.devices.length > 64) fail('a backup needs 1 to 64 devices');
  if (o.copyOnly && o.type === 'diff') fail('COPY_ONLY has no effect on a differential backup');
  if ((o.noRecovery || o.noTruncate) && o.type !== 'log') {
    fail('NORECOVERY and NO_TRUNCATE apply to log backups only');
  }
  if (o.compressionAlgorithm !== undefined) {
    if (!ALGORITHMS.has(o.compressionAlgorithm))
      fail(`unknown compression algorithm ${o.compressionAlgorithm}`);
    if (o.compression !== true) fail('a compression algorithm needs compression on');
  }
  if (o.maxTransferSize !== undefined) {
    const toUrl = o.devices.some((d) => d.kind === 'url');
    const max = (toUrl ? 20 : 4) * 1024 * 1024;
    if (
      !Number.isInteger(o.maxTransferSize) ||
      o.maxTransferSize % 65536 !== 0 ||
      o.maxTransferSize < 65536 ||
      o.maxTransferSize > max
    ) {
      fail(`MAXTRANSFERSIZE must be a multiple of 65536 between 65536 and ${max}`);
    }
  }
  if (
    o.blockSize !== undefined &&
    ![512, 1024, 2048, 4096, 8192, 16384, 32768, 65536].includes(o.blockSize)
  ) {
    fail('BLOCKSIZE must be a power of two from 512 to 65536');
  }
  if (o.bufferCount !== undefined && (!Number.isInteger(o.bufferCount) || o.bufferCount < 1)) {
    fail('BUFFERCOUNT must be a positive integer');
  }
  const stats = o.stats ?? 10;
  if (!Number.isInteger(stats) || stats < 1 || stats > 100) fail('STATS must be 1 to 100');
  if (o.description !== undefined && o.description.length > 255)
    fail('DESCRIPTION is limited to 255 characters');
  if (o.name !== undefined && o.name.length > 128) fail('NAME is limited to 128 characters');
}

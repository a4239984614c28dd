/**
 * The T-SQL of a restore, from a {@link RestorePlan}: optional tail-log backup, every step WITH
 * NORECOVERY, STOPAT/STOPATMARK on the last log, a separate RECOVERY, the ONLINE check, MULTI_USER.
 * @module
 */
import { UsageError } from '../../errors.ts';
import type { BackupSetRecord } from './backup-set.ts';
import { formatServerLocal } from './dates.ts';
import { deviceList, deviceOf, fileOption, type BackupDevice } from './device.ts';
import { formatLsn } from './lsn.ts';
import type { FileMove } from './move.ts';
import type { RestorePlan } from './plan.ts';
import { quoteName, quoteString } from './quote.ts';

/** One statement of a restore script and what it is for. */
export interface RestoreStatement {
  readonly kind: 'single-user' | 'tail-log' | 'restore' | 'recover' | 'check-online' | 'multi-user';
  readonly sql: string;
  /** The backup set a `restore` statement applies. */
  readonly step?: BackupSetRecord;
}

/** How to restore. */
export interface RestoreScriptOptions {
  /** The name to restore as. @default plan.database */
  readonly targetDatabase?: string;
  /** Whether a database of that name exists on the target server now. */
  readonly targetExists: boolean;
  /** Overwrite the existing database (required when it exists). */
  readonly replace?: boolean;
  /** Back up the tail of the log of the existing database first (in-place restores). */
  readonly tailLogDevice?: BackupDevice;
  /**
   * Restore the tail-log backup after the plan's steps (`false` when the plan ends at an older
   * backup and the tail is only kept). @default plan.target.kind === 'latest'
   */
  readonly applyTailLog?: boolean;
  /**
   * MOVE for every logical file, on every full and differential step; required when restoring
   * under another name (unless `movesByStep` is given).
   */
  readonly moves?: readonly FileMove[];
  /**
   * MOVE per step, aligned with `plan.steps` (see `movesFor`), replacing `moves`: a differential's
   * files, and on a log the files added during its interval.
   */
  readonly movesByStep?: readonly (readonly FileMove[])[];
  /**
   * The server's UTC offset in minutes now (STOPAT is server-local time), for the stop instant when
   * neither `serverTimeZone` nor the offset recorded with the last log is known: wrong by an hour
   * across a daylight-saving change.
   */
  readonly serverUtcOffsetMinutes: number;
  /**
   * The server's time zone (`CURRENT_TIMEZONE_ID()`, SQL Server 2022 and later). When known, the
   * server converts the stop instant itself with AT TIME ZONE, at the offset in force at that instant.
   */
  readonly serverTimeZone?: string | null;
  /** Where each backup file is read from. @default {@link deviceOf} of the recorded path */
  readonly deviceFor?: (path: string, step: BackupSetRecord) => BackupDevice;
  /** Finish with `STANDBY = file` (read-only between log restores) instead of RECOVERY. */
  readonly standbyFile?: string;
  /** `false` leaves the database RESTORING for more logs. @default true */
  readonly recover?: boolean;
  /**
   * RESTORE WITH CHECKSUM for the steps whose sets have checksums (`hasBackupChecksums`); `false`
   * for none. @default true
   */
  readonly checksum?: boolean;
  /** @default 10 */
  readonly stats?: number;
}

/**
 * Builds the restore script.
 * @throws UsageError when the target exists and `replace` is not set, when restoring under another
 * name without MOVE targets, or when a tail-log backup is asked for a restore that is not in place.
 */
export function buildRestoreScript(plan: RestorePlan, o: RestoreScriptOptions): RestoreStatement[] {
  const target = o.targetDatabase ?? plan.database;
  const db = quoteName(target);
  const inPlace = target.trimEnd().toLowerCase() === plan.database.trimEnd().toLowerCase();
  const fail = (why: string): never => {
    throw new UsageError(`[sqlserver:restore] ${target}: ${why}`);
  };
  if (o.targetExists && !o.replace) fail('the database exists; pass --replace to overwrite it');
  const movesOf = (step: BackupSetRecord, i: number): readonly FileMove[] =>
    o.movesByStep ? (o.movesByStep[i] ?? []) : step.type === 'log' ? [] : (o.moves ?? []);
  if (!inPlace && (plan.steps[0] ? movesOf(plan.steps[0], 0) : []).length === 0)
    fail('restoring under a new name needs MOVE targets for every file');
  if (o.tailLogDevice && !(inPlace && o.targetExists))
    fail('a tail-log backup needs an in-place restore over an existing database');

  const out: RestoreStatement[] = [];
  if (o.targetExists) {
    out.push({
      kind: 'single-user',
      sql: `ALTER DATABASE ${db} SET SINGLE_USER WITH ROLLBACK IMMEDIATE;`,
    });
  }
  if (o.tailLogDevice) {
    out.push({
      kind: 'tail-log',
      sql: `BACKUP LOG ${db} TO ${deviceList([o.tailLogDevice])} WITH NO_TRUNCATE, NORECOVERY, CHECKSUM, FORMAT, INIT, STATS = ${o.stats ?? 10};`,
    });
  }
  const stats = `STATS = ${o.stats ?? 10}`;
  // CHECKSUM makes RESTORE fail on a set written without checksums (a plain BACKUP's default), and
  // without it RESTORE still verifies the checksums a set has: so only sets known to have them.
  const checksum = (has: boolean | null): string[] =>
    o.checksum !== false && has === true ? ['CHECKSUM'] : [];
  plan.steps.forEach((step, i) => {
    const devices = step.files.map((file) => (o.deviceFor ?? deviceOf)(file, step));
    if (devices.length === 0) fail(`backup set ${step.backupSetGuid} has no files`);
    const opts = [
      ...fileOption(devices, step.position),
      'NORECOVERY',
      ...checksum(step.hasBackupChecksums),
      stats,
    ];
    opts.push(
      ...movesOf(step, i).map(
        (m) => `MOVE ${quoteString(m.logicalName)} TO ${quoteString(m.physicalName)}`,
      ),
    );
    if (i === 0 && o.targetExists) opts.push('REPLACE');
    const last = i === plan.steps.length - 1 && step.type === 'log';
    let declare = '';
    if (last && plan.stopAt && o.serverTimeZone) {
      declare = stopAtDeclaration(plan.stopAt, o.serverTimeZone);
      opts.push('STOPAT = @stopat');
    } else if (last && plan.stopAt) {
      // The log holding the target recorded the offset when it was taken: right across a
      // daylight-saving change since then (wrong only for one inside the log's own interval).
      const offset = step.utcOffsetMinutes ?? o.serverUtcOffsetMinutes;
      opts.push(`STOPAT = ${quoteString(formatServerLocal(plan.stopAt, offset))}`);
    }
    if (last && plan.stopAtLsn !== null)
      opts.push(`STOPATMARK = ${quoteString(`lsn:${formatLsn(plan.stopAtLsn)}`)}`);
    const what = step.type === 'log' ? 'LOG' : 'DATABASE';
    out.push({
      kind: 'restore',
      step,
      sql: `${declare}RESTORE ${what} ${db} FROM ${deviceList(devices)} WITH ${opts.join(', ')};`,
    });
  });
  if (o.tailLogDevice && (o.applyTailLog ?? plan.target.kind === 'latest')) {
    out.push({
      kind: 'restore',
      sql: `RESTORE LOG ${db} FROM ${deviceList([o.tailLogDevice])} WITH ${[...fileOption([o.tailLogDevice], 1), 'NORECOVERY', ...checksum(true), stats].join(', ')};`,
    });
  }
  if (o.recover === false) return out;
  const finish = o.standbyFile ? `STANDBY = ${quoteString(o.standbyFile)}` : 'RECOVERY';
  out.push({ kind: 'recover', sql: `RESTORE DATABASE ${db} WITH ${finish};` });
  out.push({
    kind: 'check-online',
    sql: `SELECT state_desc FROM sys.databases WHERE name = ${quoteString(target)};`,
  });
  if (!o.standbyFile) out.push({ kind: 'multi-user', sql: `ALTER DATABASE ${db} SET MULTI_USER;` });
  return out;
}

/** Which server-local time STOPAT uses and where its offset came from (see {@link describeStopAt}). */
export interface StopAtBasis {
  readonly note: string;
  /** Neither the server's time zone nor an offset recorded with the log: the caller's offset. */
  readonly assumed: boolean;
}

/** How the script's STOPAT was converted, for a reader of the script; `null` without STOPAT. */
export function describeStopAt(plan: RestorePlan, o: RestoreScriptOptions): StopAtBasis | null {
  const last = plan.steps.at(-1);
  if (!plan.stopAt || last?.type !== 'log') return null;
  const at = plan.stopAt.toISOString();
  if (o.serverTimeZone)
    return {
      note: `STOPAT ${at} is converted on the server with AT TIME ZONE ${quoteString(o.serverTimeZone)}`,
      assumed: false,
    };
  const recorded = last.utcOffsetMinutes;
  const offset = recorded ?? o.serverUtcOffsetMinutes;
  const local = `${formatServerLocal(plan.stopAt, offset)} server-local`;
  return recorded !== null
    ? {
        note: `STOPAT ${at} is ${local} at UTC${formatOffset(offset)}, the offset recorded with the log backup holding it`,
        assumed: false,
      }
    : {
        note: `STOPAT ${at} is ${local} assuming the server clock is UTC${formatOffset(offset)}: the log backup holding it recorded no offset`,
        assumed: true,
      };
}

// --- internal ---

function formatOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${minutes < 0 ? '-' : '+'}${hh}:${mm}`;
}

/**
 * STOPAT is the server's wall-clock time at the target, and the offset then may differ from today's
 * (daylight saving time). STOPAT takes a constant or a varchar variable, not an expression, so the
 * server converts the UTC instant into a variable first.
 */
function stopAtDeclaration(at: Date, timeZone: string): string {
  const utc = quoteString(`${at.toISOString().slice(0, 23)}+00:00`);
  return (
    'DECLARE @stopat varchar(23) = CONVERT(varchar(23), CONVERT(datetime2(3), ' +
    `CONVERT(datetimeoffset(3), ${utc}) AT TIME ZONE ${quoteString(timeZone)}), 126);\n`
  );
}

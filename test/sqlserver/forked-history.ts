/**
 * Recovery forks on a real history, for the tests of the gap check and the restore planning after a
 * restore to a point in time. dbatools' DiffRestore.json (a full, logs _1 to _3, a differential,
 * logs _21 to _25) holds no forks: here it lies on fork A. At 08:10 the database was restored to
 * LSN 34000000025500001, inside _23 (24800001–26400001), and went on on fork B: its first log
 * backup B1 starts where _23 starts and crosses into fork B at that point; B2 and B3 follow on fork
 * B. _23, _24 and _25 lie past the fork point on the abandoned fork A, and reach higher LSNs than B3.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'lossless-json';
import type { BackupSetRecord } from '../../src/drivers/sqlserver/backup-set.ts';
import type { DatabaseState } from '../../src/drivers/sqlserver/eligibility.ts';
import { parseHistoryJson } from '../../src/drivers/sqlserver/history.ts';

const text = readFileSync(
  new URL('../fixtures/sqlserver/dbatools/DiffRestore.json', import.meta.url),
  'utf8',
).replace(/^\uFEFF/, '');

/** The rows of DiffRestore.json, lossless (LSNs exceed 2^53). */
export function diffRestoreRows(): Record<string, unknown>[] {
  return parse(text) as Record<string, unknown>[];
}

/** The database as SQL Server shows it after the last backup of DiffRestore.json. */
export const diffRestoreState: DatabaseState = {
  name: 'RestoreTimeDiff',
  stateDesc: 'ONLINE',
  recoveryModel: 'FULL',
  isInStandby: false,
  hasLogChain: true,
  lastLogBackupLsn: 34000000028400001n, // LastLSN of _25.trn
  familyGuid: null,
  recoveryForkGuid: null,
  firstRecoveryForkGuid: null,
  forkPointLsn: null,
  hasDifferentialBase: true,
  differentialBaseLsn: 34000000006900179n, // CheckpointLSN of the full
  differentialBaseGuid: null,
  isEncrypted: false,
  availabilityReplica: null,
};

export const forkA = 'aaaaaaaa-0000-4000-8000-00000000000a';
export const forkB = 'bbbbbbbb-0000-4000-8000-00000000000b';
/** The fork of a second restore to a point in time, from fork B. */
export const forkC = 'cccccccc-0000-4000-8000-00000000000c';

/**
 * A log backup `RestoreTimeDiff_<name>.trn` ending on `fork`; `crossing` names the fork it starts on
 * and the fork point, for the first log backup after a restore to a point in time.
 */
export function logOnFork(
  fork: string,
  name: string,
  lsns: readonly [first: string, last: string],
  at: string,
  crossing?: { readonly from: string; readonly point: string },
): Record<string, unknown> {
  return {
    BackupSetGUID: `${fork.slice(0, 8)}-0000-4000-8000-0000000000${name.toLowerCase()}`,
    BackupTypeDescription: 'Transaction Log',
    DatabaseName: 'RestoreTimeDiff',
    FirstLSN: lsns[0],
    LastLSN: lsns[1],
    DatabaseBackupLSN: '34000000006900179',
    BackupStartDate: at,
    BackupFinishDate: at,
    BackupPath: `C:\\dbatools\\RestoreTimeDiff\\RestoreTimeDiff_${name}.trn`,
    FirstRecoveryForkID: crossing?.from ?? fork,
    RecoveryForkID: fork,
    ...(crossing ? { ForkPointLSN: crossing.point } : {}),
  };
}

const intoB = { from: forkA, point: '34000000025500001' };
export const forkB1 = logOnFork(
  forkB,
  'B1',
  ['34000000024800001', '34000000025900001'],
  '2017-05-04T08:15:00Z',
  intoB,
);
export const forkB2 = logOnFork(
  forkB,
  'B2',
  ['34000000025900001', '34000000026200001'],
  '2017-05-04T08:30:00Z',
);
export const forkB3 = logOnFork(
  forkB,
  'B3',
  ['34000000026200001', '34000000026500001'],
  '2017-05-04T08:45:00Z',
);

/** The database on fork B after B3. */
export const onForkB: DatabaseState = {
  ...diffRestoreState,
  lastLogBackupLsn: 34000000026500001n,
  recoveryForkGuid: forkB,
  firstRecoveryForkGuid: forkB,
};

/**
 * The database right after the restore inside _23, before a log backup on fork B: it names the fork
 * it left and the fork point, and the next log starts where _23 does.
 */
export const restoredInside23: DatabaseState = {
  ...onForkB,
  lastLogBackupLsn: 34000000024800001n,
  firstRecoveryForkGuid: forkA,
  forkPointLsn: 34000000025500001n,
};

/**
 * DiffRestore.json on fork A (or, with `forks: false`, without fork ids, as older history) and the
 * rows `added`; the backups whose file ends with one of `emptied` written to NUL instead, and those
 * ending with one of `unseen` missing (hbr never saw them).
 */
export function forkedHistory(
  added: readonly Record<string, unknown>[],
  o: { emptied?: readonly string[]; unseen?: readonly string[]; forks?: boolean } = {},
): { records: BackupSetRecord[]; discarded: BackupSetRecord[] } {
  const { emptied = [], unseen = [], forks = true } = o;
  const fixture = diffRestoreRows().map((row) =>
    forks ? { ...row, FirstRecoveryForkID: forkA, RecoveryForkID: forkA } : row,
  );
  const named = (row: Record<string, unknown>, names: readonly string[]): boolean =>
    names.some((name) => String(row.BackupPath).endsWith(name));
  const rows = [...fixture, ...added]
    .filter((row) => !named(row, unseen))
    .map((row) => (named(row, emptied) ? { ...row, BackupPath: 'NUL' } : row));
  return parseHistoryJson(stringify(rows) ?? '', 'forked');
}

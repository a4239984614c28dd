/**
 * RESTORE HEADERONLY / FILELISTONLY / VERIFYONLY statements, and the queries that run the first two
 * through `INSERT … EXEC` so LSNs come back as exact strings (CAST server-side: the Node driver
 * would turn `numeric(25,0)` into a lossy `number`) and dates with the server's UTC offset.
 * @module
 */
import { deviceList, fileOption, type BackupDevice } from './device.ts';
import { quoteString } from './quote.ts';

/** `RESTORE HEADERONLY`: one row per backup set on the media. */
export function restoreHeaderOnly(devices: readonly BackupDevice[]): string {
  return `RESTORE HEADERONLY FROM ${deviceList(devices)};`;
}

/** `RESTORE FILELISTONLY … WITH FILE = n`: the database files in one backup set. */
export function restoreFileListOnly(devices: readonly BackupDevice[], position = 1): string {
  const file = fileOption(devices, position);
  return `RESTORE FILELISTONLY FROM ${deviceList(devices)}${file.length ? ` WITH ${file[0]}` : ''};`;
}

/**
 * `RESTORE VERIFYONLY … WITH FILE = n, CHECKSUM`: checks the set is complete and readable and its
 * checksums match. Not a restore test (research §0.8).
 */
export function restoreVerifyOnly(
  devices: readonly BackupDevice[],
  position = 1,
  options: { checksum?: boolean; stats?: number } = {},
): string {
  const checksum = options.checksum === false ? 'NO_CHECKSUM' : 'CHECKSUM';
  const opts = [...fileOption(devices, position), checksum, `STATS = ${options.stats ?? 10}`];
  return `RESTORE VERIFYONLY FROM ${deviceList(devices)} WITH ${opts.join(', ')};`;
}

/** The query returning RESTORE HEADERONLY rows with LSNs as text; columns for `majorVersion`. */
export function headerOnlyQuery(devices: readonly BackupDevice[], majorVersion: number): string {
  return captureQuery(HEADER_COLUMNS, restoreHeaderOnly(devices), majorVersion, [
    'BackupStartDate',
    'BackupFinishDate',
  ]);
}

/** The query returning RESTORE FILELISTONLY rows with LSNs as text; columns for `majorVersion`. */
export function fileListOnlyQuery(
  devices: readonly BackupDevice[],
  position: number,
  majorVersion: number,
): string {
  return captureQuery(FILELIST_COLUMNS, restoreFileListOnly(devices, position), majorVersion, []);
}

/** Column name, SQL type, first major version that returns it. */
type Column = readonly [string, string, number?];

const LSN = 'numeric(25,0)';
// RESTORE HEADERONLY result set (learn.microsoft.com, restore-statements-headeronly-transact-sql).
// prettier-ignore
const HEADER_COLUMNS: readonly Column[] = [
  ['BackupName', 'nvarchar(128)'], ['BackupDescription', 'nvarchar(255)'], ['BackupType', 'smallint'],
  ['ExpirationDate', 'datetime'], ['Compressed', 'tinyint'], ['Position', 'smallint'],
  ['DeviceType', 'tinyint'], ['UserName', 'nvarchar(128)'], ['ServerName', 'nvarchar(128)'],
  ['DatabaseName', 'nvarchar(128)'], ['DatabaseVersion', 'int'], ['DatabaseCreationDate', 'datetime'],
  ['BackupSize', 'numeric(20,0)'], ['FirstLSN', LSN], ['LastLSN', LSN], ['CheckpointLSN', LSN],
  ['DatabaseBackupLSN', LSN], ['BackupStartDate', 'datetime'], ['BackupFinishDate', 'datetime'],
  ['SortOrder', 'smallint'], ['CodePage', 'smallint'], ['UnicodeLocaleId', 'int'],
  ['UnicodeComparisonStyle', 'int'], ['CompatibilityLevel', 'tinyint'], ['SoftwareVendorId', 'int'],
  ['SoftwareVersionMajor', 'int'], ['SoftwareVersionMinor', 'int'], ['SoftwareVersionBuild', 'int'],
  ['MachineName', 'nvarchar(128)'], ['Flags', 'int'], ['BindingID', 'uniqueidentifier'],
  ['RecoveryForkID', 'uniqueidentifier'], ['Collation', 'nvarchar(128)'], ['FamilyGUID', 'uniqueidentifier'],
  ['HasBulkLoggedData', 'bit'], ['IsSnapshot', 'bit'], ['IsReadOnly', 'bit'], ['IsSingleUser', 'bit'],
  ['HasBackupChecksums', 'bit'], ['IsDamaged', 'bit'], ['BeginsLogChain', 'bit'],
  ['HasIncompleteMetaData', 'bit'], ['IsForceOffline', 'bit'], ['IsCopyOnly', 'bit'],
  ['FirstRecoveryForkID', 'uniqueidentifier'], ['ForkPointLSN', LSN], ['RecoveryModel', 'nvarchar(60)'],
  ['DifferentialBaseLSN', LSN], ['DifferentialBaseGUID', 'uniqueidentifier'],
  ['BackupTypeDescription', 'nvarchar(60)'], ['BackupSetGUID', 'uniqueidentifier'],
  ['CompressedBackupSize', 'bigint'], ['Containment', 'tinyint', 11], ['KeyAlgorithm', 'nvarchar(32)', 12],
  ['EncryptorThumbprint', 'varbinary(20)', 12], ['EncryptorType', 'nvarchar(32)', 12],
  ['LastValidRestoreTime', 'datetime', 16], ['TimeZone', 'nvarchar(32)', 16],
  ['CompressionAlgorithm', 'nvarchar(32)', 16],
];
// RESTORE FILELISTONLY result set (restore-statements-filelistonly-transact-sql).
// prettier-ignore
const FILELIST_COLUMNS: readonly Column[] = [
  ['LogicalName', 'nvarchar(128)'], ['PhysicalName', 'nvarchar(260)'], ['Type', 'char(1)'],
  ['FileGroupName', 'nvarchar(128)'], ['Size', 'numeric(20,0)'], ['MaxSize', 'numeric(20,0)'],
  ['FileID', 'bigint'], ['CreateLSN', LSN], ['DropLSN', LSN], ['UniqueID', 'uniqueidentifier'],
  ['ReadOnlyLSN', LSN], ['ReadWriteLSN', LSN], ['BackupSizeInBytes', 'bigint'], ['SourceBlockSize', 'int'],
  ['FileGroupID', 'int'], ['LogGroupGUID', 'uniqueidentifier'], ['DifferentialBaseLSN', LSN],
  ['DifferentialBaseGUID', 'uniqueidentifier'], ['IsReadOnly', 'bit'], ['IsPresent', 'bit'],
  ['TDEThumbprint', 'varbinary(32)'], ['SnapshotURL', 'nvarchar(360)', 13],
];

/**
 * Captures a RESTORE …ONLY result set in a table variable, then selects it back with every
 * `numeric` column as `varchar`, server-local `datetime` columns as ISO text (style 126), and the
 * server's current UTC offset in minutes as `ServerUtcOffsetMinutes`.
 */
function captureQuery(
  columns: readonly Column[],
  statement: string,
  major: number,
  dates: readonly string[],
): string {
  const cols = columns.filter(([, , since]) => since === undefined || major >= since);
  const declare = cols.map(([name, type]) => `[${name}] ${type} NULL`).join(', ');
  const select = cols.map(([name, type]) => {
    if (type.startsWith('numeric')) return `CONVERT(varchar(40), [${name}]) AS [${name}]`;
    if (dates.includes(name)) return `CONVERT(varchar(23), [${name}], 126) AS [${name}]`;
    return `[${name}]`;
  });
  return [
    'SET NOCOUNT ON;',
    `DECLARE @rows TABLE (${declare});`,
    `INSERT INTO @rows EXEC (${quoteString(statement)});`,
    `SELECT ${select.join(', ')}, DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) AS [ServerUtcOffsetMinutes] FROM @rows;`,
  ].join('\n');
}

/**
 * A stand-in for one SQL Server session (`SqlExecutor`) for tests without a server. It answers the
 * T-SQL hbr sends the way Microsoft documents SQL Server answering it: BACKUP writes a stream (to
 * disk, or for `TO URL` through the real Azure SDK client to hbr's blob endpoint, 4 MiB blocks, the
 * first block re-sent, then the block list) and updates the LSNs, log chain and differential base;
 * RESTORE HEADERONLY / FILELISTONLY / VERIFYONLY read the media back; RESTORE reads the streams
 * back and checks they are the bytes written; msdb holds every backup, including "manual" ones a
 * DBA takes. It records every statement. It is a test double, not a SQL Server: it checks what the
 * statements say, not what the engine would do with pages.
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BlockBlobClient } from '@azure/storage-blob';
import type { ExecResult, SqlExecutor } from '../../src/drivers/sqlserver/executor.ts';
import { pseudoRandomBytes } from '../helpers/temp.ts';

const MiB = 1024 * 1024;

interface Db {
  name: string;
  state: 'ONLINE' | 'RESTORING';
  recovery: 'FULL' | 'SIMPLE';
  lsn: bigint;
  familyGuid: string;
  forkGuid: string;
  lastLogBackupLsn: bigint | null;
  diffBase: { lsn: bigint; guid: string } | null;
  lastFullCheckpoint: bigint;
  /** Counts the changes so streams differ. */
  version: number;
  /** Data files added after creation (ALTER DATABASE … ADD FILE), in FILELISTONLY form. */
  addedFiles: Record<string, unknown>[];
  /** The physical file of each logical name (lower-case) the database holds open. */
  paths: Map<string, string>;
}

interface Media {
  readonly header: Record<string, unknown>;
  readonly files: Record<string, unknown>[];
  readonly sha256: string;
}

/** Options of {@link createStandInServer}. */
export interface StandInOptions {
  /** The SAS token SQL Server's credential holds (appended to every URL request). */
  readonly sas: string;
  /** Server path prefix → local folder, for `DISK =` devices. */
  readonly disk?: { readonly serverPath: string; readonly localPath: string };
  /** Backup stream size in 8 KiB pages. @default 700 (~5.5 MiB: two blocks) */
  readonly pages?: number;
  /** `SERVERPROPERTY('ProductVersion')`. @default '16.0.4135.4' (SQL Server 2022) */
  readonly productVersion?: string;
}

/** The stand-in and the handles tests use to drive and inspect it. */
export interface StandInServer extends SqlExecutor {
  readonly statements: string[];
  /** Server clock (UTC). Backups start at it and finish 1 s later. */
  now: Date;
  /** The server's offset from UTC in minutes now (a daylight-saving change moves it). @default 0 */
  utcOffsetMinutes: number;
  createDatabase(name: string, recovery?: 'FULL' | 'SIMPLE'): void;
  /** Work in the database: moves its LSN on. */
  write(name: string, transactions: number): void;
  /** `ALTER DATABASE … ADD FILE`: later backups list the data file `logicalName`. */
  addFile(name: string, logicalName: string): void;
  /** Databases restored, with the backup set GUIDs they were restored from, in order. */
  readonly restored: Map<string, string[]>;
  /** Backup set GUID of the last BACKUP. */
  lastBackupGuid(): string;
  /**
   * A backup a DBA takes by hand to a disk path (recorded in msdb, not in hbr); `checksum: false`
   * is a plain BACKUP, which SQL Server takes without checksums. @default checksum true
   */
  manualBackup(
    database: string,
    type: 'full' | 'diff' | 'log',
    path: string,
    options?: { checksum?: boolean },
  ): Promise<void>;
  exists(name: string): boolean;
  /** The next statement matching `pattern` fails (a full disk, a lost connection). */
  failNext(pattern: RegExp, message: string): void;
}

/** Creates the stand-in. */
export function createStandInServer(o: StandInOptions): StandInServer {
  const dbs = new Map<string, Db>();
  const media = new Map<string, Media>();
  const bySha = new Map<string, string>(); // content sha → backup set guid
  const filesOf = new Map<string, Record<string, unknown>[]>(); // backup set guid → FILELISTONLY
  const checksummed = new Set<string>(); // backup set guids written WITH CHECKSUM
  const msdb: Record<string, unknown>[] = [];
  const statements: string[] = [];
  const restored = new Map<string, string[]>();
  let lastGuid = '';
  let failure: { pattern: RegExp; message: string } | null = null;
  const key = (n: string): string => n.trimEnd().toLowerCase();
  const db = (name: string): Db => {
    const found = dbs.get(key(name));
    if (!found) throw new Error(`Msg 911, Level 16: Database '${name}' does not exist.`);
    return found;
  };

  const server: StandInServer = {
    statements,
    now: new Date('2026-11-01T00:00:00Z'),
    utcOffsetMinutes: 0,
    restored,
    createDatabase(name, recovery = 'FULL') {
      dbs.set(key(name), {
        name,
        state: 'ONLINE',
        recovery,
        lsn: 34_000_000_010_000_001n,
        familyGuid: randomUUID(),
        forkGuid: randomUUID(),
        lastLogBackupLsn: null,
        diffBase: null,
        lastFullCheckpoint: 0n,
        version: 0,
        addedFiles: [],
        paths: new Map([
          [name.toLowerCase(), `/var/opt/mssql/data/${name}.mdf`],
          [`${name.toLowerCase()}_log`, `/var/opt/mssql/log/${name}_log.ldf`],
        ]),
      });
    },
    write(name, transactions) {
      const d = db(name);
      d.lsn += BigInt(transactions) * 100_000n;
      d.version += transactions;
    },
    addFile(name, logicalName) {
      const d = db(name);
      d.lsn += 100n;
      d.paths.set(logicalName.toLowerCase(), `/var/opt/mssql/data/${logicalName}.ndf`);
      d.addedFiles.push({
        LogicalName: logicalName,
        PhysicalName: `/var/opt/mssql/data/${logicalName}.ndf`,
        Type: 'D',
        FileGroupName: 'PRIMARY',
        FileID: 3 + d.addedFiles.length,
        Size: '8388608',
        IsPresent: 1,
      });
    },
    lastBackupGuid: () => lastGuid,
    exists: (name) => dbs.has(key(name)),
    failNext(pattern, message) {
      failure = { pattern, message };
    },
    async manualBackup(database, type, path, options = {}) {
      const what = type === 'log' ? 'LOG' : 'DATABASE';
      const opts = type === 'diff' ? 'DIFFERENTIAL, ' : '';
      const checksum = options.checksum === false ? '' : 'CHECKSUM, ';
      await server.run(
        `BACKUP ${what} ${name(database)} TO DISK = N'${path}' WITH ${opts}${checksum}FORMAT, INIT;`,
      );
    },
    async query(sql, options) {
      return (await server.run(sql, options)).recordsets[0] ?? [];
    },
    async close() {},
    async run(sql): Promise<ExecResult> {
      statements.push(sql);
      if (failure?.pattern.test(sql)) {
        const { message } = failure;
        failure = null;
        throw new Error(message);
      }
      const sets = (...s: Record<string, unknown>[][]): ExecResult => ({
        recordsets: s,
        messages: [],
      });
      if (sql.includes('SELECT @@SERVERNAME'))
        return sets([
          {
            n: 'STANDIN',
            v: o.productVersion ?? '16.0.4135.4',
            o: server.utcOffsetMinutes,
            t: local(server.now),
            d: '/var/opt/mssql/data/',
            l: '/var/opt/mssql/log/',
          },
        ]);
      if (sql.includes('FROM sys.databases AS d')) {
        const d = dbs.get(key(strings(sql)[0] ?? ''));
        return sets(
          d
            ? [
                {
                  name: d.name,
                  state_desc: d.state,
                  recovery_model_desc: d.recovery,
                  is_in_standby: false,
                  is_encrypted: false,
                  last_log_backup_lsn: d.lastLogBackupLsn?.toString() ?? null,
                  family_guid: d.familyGuid,
                  recovery_fork_guid: d.forkGuid,
                  differential_base_lsn: d.diffBase?.lsn.toString() ?? null,
                  differential_base_guid: d.diffBase?.guid ?? null,
                },
              ]
            : [],
        );
      }
      if (sql.startsWith('SELECT CURRENT_TIMEZONE_ID()')) return sets([{ z: 'UTC' }]);
      // A STOPAT converted on the server: the restore follows its declaration.
      if (sql.startsWith('DECLARE @stopat '))
        return sets(...(await restore(sql.slice(sql.indexOf('\n') + 1))));
      if (sql.startsWith('SELECT 1 AS x FROM sys.databases'))
        return sets(server.exists(strings(sql)[0] ?? '') ? [{ x: 1 }] : []);
      if (sql.startsWith('SELECT state_desc FROM sys.databases')) {
        const d = dbs.get(key(strings(sql)[0] ?? ''));
        return sets(d ? [{ state_desc: d.state }] : []);
      }
      if (sql.startsWith('BACKUP ')) return sets(...(await backup(sql)));
      if (sql.includes('RESTORE HEADERONLY'))
        return sets(
          devices(inner(sql))
            .slice(0, 1)
            .map((p) => medium(p).header),
        );
      if (sql.includes('RESTORE FILELISTONLY')) return sets(medium(devices(inner(sql))[0]!).files);
      if (sql.startsWith('RESTORE VERIFYONLY')) {
        checkChecksums(sql, await setsOf(devices(sql)));
        return sets();
      }
      if (sql.startsWith('RESTORE ')) return sets(...(await restore(sql)));
      if (sql.includes('FROM msdb.dbo.backupset')) {
        const wanted = strings(sql)[0];
        return sets(
          msdb.filter((r) => wanted === undefined || key(String(r.DatabaseName)) === key(wanted)),
        );
      }
      if (/^ALTER DATABASE \[.*\] SET (SINGLE_USER|MULTI_USER)/s.test(sql)) {
        db(names(sql)[0]!);
        return sets();
      }
      if (sql.startsWith('DBCC CHECKDB')) return sets([]);
      if (sql.includes('COUNT_BIG(*)')) return sets([{ n: String(db(names(sql)[0]!).version) }]);
      if (sql.includes('.sys.assemblies'))
        return sets([], [{ is_trustworthy_on: false }], [{ clr_enabled: 0 }]);
      if (sql.startsWith('USE ')) return sets();
      throw new Error(`stand-in: unhandled T-SQL: ${sql}`);
    },
  };

  /** BACKUP DATABASE|LOG: new LSNs, the stream written to every device, msdb rows. */
  async function backup(sql: string): Promise<Record<string, unknown>[][]> {
    const d = db(names(sql)[0]!);
    // Backup to URL appends nothing to a blob: INIT/NOINIT are not supported, FORMAT overwrites.
    if (sql.includes(' URL = ') && /[ ,](NO)?INIT\b/.test(sql))
      throw new Error(
        'Msg 3032, Level 16: One or more of the options (init) are not supported for this statement.',
      );
    const log = sql.startsWith('BACKUP LOG');
    const diff = / DIFFERENTIAL/.test(sql);
    const copyOnly = / COPY_ONLY/.test(sql);
    if (log && (d.recovery === 'SIMPLE' || d.lastLogBackupLsn === null))
      throw new Error(
        `Msg 4214, Level 16: BACKUP LOG cannot be performed because there is no current database backup.`,
      );
    if (diff && d.diffBase === null)
      throw new Error(
        'Msg 3035, Level 16: Cannot perform a differential backup, no current database backup.',
      );
    const guid = randomUUID();
    const start = new Date(server.now);
    const finish = new Date(server.now.getTime() + 1000);
    d.lsn += 100_000n; // the backup's own checkpoint
    const checkpoint = d.lsn;
    const last = d.lsn + 1n;
    const first = log ? d.lastLogBackupLsn! : checkpoint - 50_000n;
    const header: Record<string, unknown> = {
      BackupName: null,
      BackupType: log ? 2 : diff ? 5 : 1,
      Position: 1,
      DatabaseName: d.name,
      ServerName: 'STANDIN',
      FirstLSN: first.toString(),
      LastLSN: last.toString(),
      CheckpointLSN: checkpoint.toString(),
      DatabaseBackupLSN: d.lastFullCheckpoint.toString(),
      DifferentialBaseLSN: diff ? d.diffBase!.lsn.toString() : null,
      DifferentialBaseGUID: diff ? d.diffBase!.guid : null,
      BackupSetGUID: guid,
      FamilyGUID: d.familyGuid,
      RecoveryForkID: d.forkGuid,
      FirstRecoveryForkID: d.forkGuid,
      IsCopyOnly: copyOnly,
      IsDamaged: false,
      HasBulkLoggedData: false,
      HasBackupChecksums: / CHECKSUM/.test(sql) && !/NO_CHECKSUM/.test(sql),
      Compressed: / COMPRESSION/.test(sql),
      RecoveryModel: d.recovery,
      DatabaseVersion: 957,
      BackupStartDate: local(start, server.utcOffsetMinutes),
      BackupFinishDate: local(finish, server.utcOffsetMinutes),
      ServerUtcOffsetMinutes: server.utcOffsetMinutes,
    };
    // A copy-only log leaves the log chain as it is: the next log starts where it started.
    if (log && !copyOnly) d.lastLogBackupLsn = last;
    if (!log && !diff && !copyOnly) {
      d.diffBase = { lsn: checkpoint, guid };
      d.lastFullCheckpoint = checkpoint;
      // The first full starts the log chain (FULL recovery).
      if (d.recovery === 'FULL' && d.lastLogBackupLsn === null) d.lastLogBackupLsn = first;
    }
    if (log && / NORECOVERY/.test(sql)) d.state = 'RESTORING';
    const files = [
      {
        LogicalName: d.name,
        PhysicalName: `/var/opt/mssql/data/${d.name}.mdf`,
        Type: 'D',
        FileGroupName: 'PRIMARY',
        FileID: 1,
        Size: '8388608',
        IsPresent: 1,
      },
      {
        LogicalName: `${d.name}_log`,
        PhysicalName: `/var/opt/mssql/log/${d.name}_log.ldf`,
        Type: 'L',
        FileGroupName: null,
        FileID: 2,
        Size: '8388608',
        IsPresent: 1,
      },
      ...d.addedFiles,
    ];
    const stream = pseudoRandomBytes((o.pages ?? 700) * 8192, 1);
    // The pages that changed since the last backup differ; the rest repeats (dedup material).
    pseudoRandomBytes(8192, d.version + (log ? 7000 : diff ? 5000 : 3000)).copy(stream, 8192 * 3);
    const paths = devices(sql);
    const stripe = Math.ceil(stream.length / paths.length);
    for (const [i, path] of paths.entries()) {
      // Each media family starts with a header naming its backup set and family number.
      const part = Buffer.from(stream.subarray(i * stripe, (i + 1) * stripe));
      Buffer.from(`${guid}/${i + 1}`).copy(part, 0);
      await writeDevice(path, part);
      const sha = createHash('sha256').update(part).digest('hex');
      media.set(path, { header, files, sha256: sha });
      bySha.set(sha, guid);
      msdb.push({
        ...header,
        Type: log ? 'L' : diff ? 'I' : 'D',
        // msdb records the offset of the backup (time_zone); its query returns it twice.
        UtcOffsetMinutes: server.utcOffsetMinutes,
        BackupType: undefined,
        BackupPath: path,
        FamilySequence: i + 1,
      });
    }
    filesOf.set(guid, files);
    if (header.HasBackupChecksums === true) checksummed.add(guid);
    lastGuid = guid;
    server.now = new Date(finish.getTime() + 1000);
    return [];
  }

  /** RESTORE … FROM devices: the bytes must be a stream this server wrote. */
  async function restore(sql: string): Promise<Record<string, unknown>[][]> {
    const target = names(sql)[0]!;
    if (/ WITH (RECOVERY|STANDBY)/.test(sql) && !sql.includes(' FROM ')) {
      db(target).state = 'ONLINE';
      return [];
    }
    if (sql.includes(' URL = ') && / FILE = /.test(sql))
      throw new Error(
        'Msg 3032, Level 16: One or more of the options (file) are not supported for this statement.',
      );
    const guids = await setsOf(devices(sql));
    checkChecksums(sql, guids);
    const paths = placeFiles(sql, target, filesOf.get([...guids][0]!) ?? []);
    if (sql.startsWith('RESTORE DATABASE')) {
      const existing = dbs.get(key(target));
      if (existing && !/ REPLACE/.test(sql) && existing.state === 'ONLINE')
        throw new Error(
          `Msg 3159, Level 16: The tail of the log for the database "${target}" has not been backed up.`,
        );
      // A restore sequence starts with a database that is new, or replaced.
      if (!restored.has(target) || / REPLACE/.test(sql)) restored.set(target, []);
      dbs.set(key(target), {
        ...(existing ?? db([...dbs.values()][0]!.name)),
        name: target,
        state: 'RESTORING',
        paths,
      });
    } else db(target).paths = paths;
    restored.get(target)?.push(...guids);
    return [];
  }

  /**
   * Where a RESTORE puts the files of its backup set, by logical name: where the restore sequence
   * already put them, else the MOVE target, else the original path. As SQL Server documents it, a
   * MOVE must name a file of the set (Msg 3234), RESTORE LOG may move only the files added during
   * its log, and no file may be one another database holds (Msg 1834).
   */
  function placeFiles(
    sql: string,
    target: string,
    files: readonly Record<string, unknown>[],
  ): Map<string, string> {
    const moves = new Map(
      [...sql.matchAll(/MOVE N'((?:[^']|'')*)' TO N'((?:[^']|'')*)'/g)].map((m) => [
        m[1]!.replaceAll("''", "'").toLowerCase(),
        m[2]!.replaceAll("''", "'"),
      ]),
    );
    const log = sql.startsWith('RESTORE LOG');
    const existing = dbs.get(key(target));
    const placed = new Map(
      existing?.state === 'RESTORING' && (log || !/ REPLACE/.test(sql)) ? existing.paths : [],
    );
    const logical = files.map((f) => String(f.LogicalName).toLowerCase());
    for (const name of moves.keys()) {
      if (!logical.includes(name) || (log && placed.has(name)))
        throw new Error(
          `Msg 3234, Level 16: Logical file '${name}' is not part of database '${target}'.`,
        );
    }
    for (const [i, name] of logical.entries()) {
      if (placed.has(name)) continue;
      const path = moves.get(name) ?? String(files[i]!.PhysicalName);
      const owner = [...dbs.values()].find(
        (d) => key(d.name) !== key(target) && [...d.paths.values()].includes(path),
      );
      if (owner)
        throw new Error(
          `Msg 1834, Level 16: The file '${path}' cannot be overwritten. It is being used by database '${owner.name}'.`,
        );
      placed.set(name, path);
    }
    return placed;
  }

  async function writeDevice(path: string, data: Buffer): Promise<void> {
    if (/^https?:/.test(path)) {
      const client = new BlockBlobClient(`${path}?${o.sas}`);
      const ids: string[] = [];
      for (let at = 0, i = 0; at < data.length || i === 0; at += 4 * MiB, i++) {
        const id = Buffer.from(`blk-${String(i).padStart(8, '0')}`).toString('base64');
        ids.push(id);
        const block = data.subarray(at, Math.min(at + 4 * MiB, data.length));
        await client.stageBlock(id, block, block.length);
      }
      // SQL Server finishes by rewriting the media header at the start of the stream.
      const head = data.subarray(0, Math.min(4 * MiB, data.length));
      await client.stageBlock(ids[0]!, head, head.length);
      await client.commitBlockList(ids);
      return;
    }
    // `BACKUP LOG … TO DISK = 'NUL'`: recorded in msdb, the bytes thrown away.
    if (path === 'NUL') return;
    const local = diskPath(path);
    await mkdir(dirname(local), { recursive: true });
    await writeFile(local, data);
  }

  /** The backup sets whose streams the devices hold. */
  async function setsOf(paths: readonly string[]): Promise<Set<string>> {
    const guids = new Set<string>();
    for (const part of await readBack(paths)) {
      const guid = bySha.get(createHash('sha256').update(part).digest('hex'));
      if (!guid) throw new Error('Msg 3241, Level 16: The media family is incorrectly formed.');
      guids.add(guid);
    }
    return guids;
  }

  /** RESTORE … WITH CHECKSUM of a set written without checksums fails (RESTORE arguments doc). */
  function checkChecksums(sql: string, guids: ReadonlySet<string>): void {
    if (!/[ ,]CHECKSUM\b/.test(sql) || /NO_CHECKSUM/.test(sql)) return;
    if ([...guids].some((g) => !checksummed.has(g)))
      throw new Error(
        'Msg 3187, Level 16: RESTORE WITH CHECKSUM cannot be specified because the backup set does not contain checksum information.',
      );
  }

  async function readBack(paths: readonly string[]): Promise<Buffer[]> {
    const parts: Buffer[] = [];
    for (const path of paths) {
      if (/^https?:/.test(path)) {
        const client = new BlockBlobClient(`${path}?${o.sas}`);
        const size = (await client.getProperties()).contentLength ?? 0;
        const chunks: Buffer[] = [];
        for (let at = 0; at < size; at += 4 * MiB)
          chunks.push(await client.downloadToBuffer(at, Math.min(4 * MiB, size - at)));
        parts.push(Buffer.concat(chunks));
      } else parts.push(await readFile(diskPath(path)));
    }
    return parts;
  }

  function medium(path: string): Media {
    const m = media.get(path);
    if (!m) throw new Error(`Msg 3201, Level 16: Cannot open backup device '${path}'.`);
    return m;
  }

  function diskPath(path: string): string {
    if (!o.disk || !path.startsWith(o.disk.serverPath))
      throw new Error(
        `Msg 3201, Level 16: Cannot open backup device '${path}'. Operating system error 2.`,
      );
    return o.disk.localPath + path.slice(o.disk.serverPath.length);
  }

  return server;
}

// --- internal ---

/** `[name]` → name (`]]` → `]`), in order. */
function names(sql: string): string[] {
  return [...sql.matchAll(/\[((?:[^\]]|\]\])*)\]/g)].map((m) => m[1]!.replaceAll(']]', ']'));
}

/** The statement inside `INSERT … EXEC (N'…')` (how hbr captures RESTORE …ONLY rows). */
function inner(sql: string): string {
  const m = /EXEC \(N'((?:[^']|'')*)'\)/.exec(sql);
  if (!m) throw new Error(`stand-in: expected INSERT … EXEC (N'…'): ${sql}`);
  return m[1]!.replaceAll("''", "'");
}

/** `N'text'` → text (`''` → `'`), in order. */
function strings(sql: string): string[] {
  return [...sql.matchAll(/N'((?:[^']|'')*)'/g)].map((m) => m[1]!.replaceAll("''", "'"));
}

/** The `DISK = N'…'` / `URL = N'…'` devices of a statement. */
function devices(sql: string): string[] {
  return [...sql.matchAll(/(?:DISK|URL) = N'((?:[^']|'')*)'/g)].map((m) =>
    m[1]!.replaceAll("''", "'"),
  );
}

/** `CONVERT(varchar(23), …, 126)` of an instant at a UTC offset (0: SYSUTCDATETIME). */
function local(d: Date, offsetMinutes = 0): string {
  return new Date(d.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 23);
}

/** A quoted name, for the manual backups. */
function name(n: string): string {
  return `[${n.replaceAll(']', ']]')}]`;
}

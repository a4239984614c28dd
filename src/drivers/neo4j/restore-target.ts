/**
 * Whether the target of a restore can load a physical backup (dumps, Enterprise backup
 * artifacts), checked before anything is read back, stopped or loaded: a target that cannot load
 * the backup would otherwise fail only after its database was replaced, or once it starts.
 *
 * The rule (Neo4j's upgrade and migration guide, and its store-format pages):
 * 1. Same or newer release only. Neo4j refuses a store written by a newer release ("The loaded
 *    database is of a newer version than the current binaries", neo4j/neo4j#13494), so the
 *    target's major.minor must be at least the backup's. Patch releases of one minor are not
 *    compared.
 * 2. Within one release line, or from 5.26 LTS on. A 5.x store upgrades to any later 5.x, a
 *    5.26 store to the calendar releases (2025.01 on), a calendar release's to any later one.
 *    Every other step (4.x to 5, 5.x before 5.26 to 2025+) needs an upgrade to a stepping stone
 *    first or `neo4j-admin database migrate`, which a restore does not do.
 * 3. A store format Neo4j has: `record-aligned` and `record-standard` in every edition,
 *    `record-high_limit` and `block-block` only in Enterprise. Newer versions of a format come
 *    with newer releases, which rule 1 already covers.
 *
 * The target's version is its neo4j-admin's (the tool that loads the dump, and the same version
 * as its server: a backup refuses them when they differ); it answers with the server down, as a
 * drill's scratch home may be. A database whose store format the backup did not record (older
 * backups, a metadata store hbr cannot read) is checked by its version only. Logical backups are
 * Cypher over Bolt, meant to move between releases, and are not checked.
 * @module
 */
import { IncompatibleTargetError } from '../../errors.ts';
import type { BackupRecord } from '../../repository/types.ts';
import type { Neo4jAdmin } from './admin.ts';
import type { Neo4jBackupMeta } from './backup.ts';
import { hasEnterpriseCommands } from './enterprise-commands.ts';

/**
 * Refuses a target that cannot load `databases` of a dump or enterprise backup (see the rule
 * above); returns at once for a logical backup.
 * @throws IncompatibleTargetError naming the backup's and the target's version or store format;
 *   SourceError when neo4j-admin fails.
 */
export async function assertTargetCanLoad(
  backup: BackupRecord,
  meta: Neo4jBackupMeta,
  databases: readonly string[],
  admin: Neo4jAdmin,
  signal?: AbortSignal,
): Promise<void> {
  if (meta.mode === 'logical') return;
  const o = signal ? { signal } : {};
  const target = await admin.version(o);
  const refuse = (why: string) =>
    new IncompatibleTargetError(
      `[neo4j] backup ${backup.shortId} cannot be restored with ${admin.command} (Neo4j ${target}): ` +
        `${why}; nothing was stopped or changed`,
    );
  const version = versionRefusal(meta.version, target);
  if (version !== undefined) throw refuse(version);
  let enterprise: Promise<boolean> | undefined; // asked once, and only when a format needs it
  for (const db of databases) {
    const format = recordedStoreFormat(meta, db);
    if (format === undefined) continue;
    const edition = storeFormatEdition(format);
    if (edition === undefined)
      throw refuse(
        `database ${db} has store format ${format}, not one Neo4j has ` +
          `(${Object.keys(STORE_FORMATS).join(', ')})`,
      );
    // An enterprise restore refuses a Community neo4j-admin itself, right after this check.
    if (
      edition === 'enterprise' &&
      meta.mode !== 'enterprise' &&
      !(await (enterprise ??= hasEnterpriseCommands(admin, o)))
    )
      throw refuse(
        `database ${db} has store format ${format}, which only Neo4j Enterprise Edition loads, ` +
          'and the target is Community Edition',
      );
  }
}

/**
 * Why Neo4j `target` cannot load a store that Neo4j `backup` wrote (rules 1 and 2 above), or
 * undefined when it can.
 */
export function versionRefusal(backup: string, target: string): string | undefined {
  const from = releaseOf(backup);
  const to = releaseOf(target);
  if (from === undefined || to === undefined)
    return `the backup was made by Neo4j ${backup}: cannot compare that version with ${target}`;
  if (to.major < from.major || (to.major === from.major && to.minor < from.minor))
    return (
      `the backup was made by Neo4j ${backup}, a newer release, and Neo4j never loads a store ` +
      `from a newer release: restore into Neo4j ${/^\d+\.\d+/.exec(backup)?.[0] ?? backup} or later`
    );
  const sameLine = lineOf(from) === lineOf(to);
  const fromLts = from.major === 5 && from.minor === 26 && to.major >= CALENDAR;
  if (!sameLine && !fromLts)
    return (
      `the backup was made by Neo4j ${backup}, and a store moves to Neo4j ${target} only through ` +
      'an upgrade to 5.26 LTS (from 4.x also neo4j-admin database migrate): restore it into that ' +
      'release first'
    );
  return undefined;
}

/**
 * The edition a store format needs (rule 3 above): `any`, `enterprise`, or undefined when Neo4j
 * has no such format. `format` as `database info` and hbr name it: `record-aligned-1.1`.
 */
export function storeFormatEdition(format: string): 'any' | 'enterprise' | undefined {
  const family = /^([a-z_]+-[a-z_]+)-\d+b?\.\d+$/.exec(format)?.[1];
  return family === undefined ? undefined : STORE_FORMATS[family];
}

// --- internal ---

/** Neo4j's store formats by `<engine>-<format>`, and the edition that loads each. */
const STORE_FORMATS: Readonly<Record<string, 'any' | 'enterprise'>> = Object.assign(
  Object.create(null) as Record<string, 'any' | 'enterprise'>,
  {
    'record-aligned': 'any',
    'record-standard': 'any',
    'record-high_limit': 'enterprise',
    'block-block': 'enterprise',
  },
);

/** Calendar versions (2025.01 on) follow 5.26: their major is the year. */
const CALENDAR = 2025;

function releaseOf(version: string): { major: number; minor: number } | undefined {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** 4, 5, or every calendar release as one line. */
function lineOf(release: { major: number }): number {
  return release.major >= CALENDAR ? CALENDAR : release.major;
}

/** The store format the backup recorded for `db`, from the dump or SHOW DATABASES. */
function recordedStoreFormat(meta: Neo4jBackupMeta, db: string): string | undefined {
  const format = meta.databases[db]?.storeFormat ?? meta.facts[db]?.storeFormat;
  return format === undefined || format === 'unknown' ? undefined : format;
}

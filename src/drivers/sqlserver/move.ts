/**
 * MOVE targets for restoring a database under a new name or into other folders: one per logical
 * file of the backup (FILELISTONLY), never colliding with the original's files.
 * @module
 */
import { UsageError } from '../../errors.ts';
import type { BackupFileEntry } from './headers.ts';

/** `MOVE N'logical' TO N'physical'`. */
export interface FileMove {
  readonly logicalName: string;
  readonly physicalName: string;
}

/** Where the restored files go. */
export interface MoveOptions {
  readonly sourceDatabase: string;
  readonly targetDatabase: string;
  /** Data files, full-text catalogs and FILESTREAM containers (`SERVERPROPERTY('InstanceDefaultDataPath')`). */
  readonly dataDirectory: string;
  /** Log files (`SERVERPROPERTY('InstanceDefaultLogPath')`). @default dataDirectory */
  readonly logDirectory?: string;
  /** Explicit targets by logical name (case-insensitive), overriding the computed ones. */
  readonly overrides?: Readonly<Record<string, string>>;
}

/**
 * Computes a MOVE for every present file. The new base name replaces the source database name in
 * the original file name (case-insensitive) or, when absent, is prefixed with the target name; the
 * extension is kept; duplicates get `_2`, `_3`, …. The separator is the one the target directory
 * uses (`\` on Windows engines, `/` on Linux).
 * @throws UsageError when a logical name in `overrides` is not in the backup.
 */
export function computeMoves(files: readonly BackupFileEntry[], o: MoveOptions): FileMove[] {
  const overrides = new Map(
    Object.entries(o.overrides ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  for (const name of overrides.keys()) {
    if (!files.some((file) => file.logicalName.toLowerCase() === name)) {
      throw new UsageError(
        `[sqlserver:restore] --move names ${JSON.stringify(name)}, which is not a file of the backup`,
      );
    }
  }
  const used = new Set<string>();
  return files
    .filter((file) => file.isPresent)
    .map((file) => {
      const explicit = overrides.get(file.logicalName.toLowerCase());
      if (explicit !== undefined) return { logicalName: file.logicalName, physicalName: explicit };
      const dir = file.type === 'L' ? (o.logDirectory ?? o.dataDirectory) : o.dataDirectory;
      const sep = dir.includes('\\') ? '\\' : '/';
      let base = renamed(baseName(file.physicalName), o.sourceDatabase, o.targetDatabase);
      if (file.type === 'S') base = `${o.targetDatabase}_${file.logicalName}`;
      let candidate = join(dir, sep, base);
      for (let n = 2; used.has(candidate.toLowerCase()); n += 1)
        candidate = join(dir, sep, suffixed(base, n));
      used.add(candidate.toLowerCase());
      return { logicalName: file.logicalName, physicalName: candidate };
    });
}

// --- internal ---

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

function renamed(base: string, source: string, target: string): string {
  const at = base.toLowerCase().indexOf(source.trimEnd().toLowerCase());
  if (source.trim() !== '' && at >= 0)
    return base.slice(0, at) + target + base.slice(at + source.trimEnd().length);
  return `${target}_${base}`;
}

function suffixed(base: string, n: number): string {
  const dot = base.lastIndexOf('.');
  return dot > 0 ? `${base.slice(0, dot)}_${n}${base.slice(dot)}` : `${base}_${n}`;
}

function join(dir: string, sep: string, base: string): string {
  return dir.endsWith(sep) ? dir + base : dir + sep + base;
}

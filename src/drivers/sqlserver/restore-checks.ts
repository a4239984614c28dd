/**
 * The checks run on a restored database and recorded with the restore: DBCC CHECKDB (TABLERESULTS
 * parsed), row counts of critical tables, CLR assemblies and what stops them running, smoke queries.
 * @module
 */
import { UsageError } from '../../errors.ts';
import type { CheckDbResult } from './checkdb.ts';
import type { ExecOptions, SqlExecutor } from './executor.ts';
import { checkDatabase, countRows } from './operations.ts';
import { clrStateQuery, parseClrState, type ClrState } from './post-restore.ts';
import { quoteName } from './quote.ts';

/** What to check (the config's `sqlserver.checks`). */
export interface PostRestoreChecks {
  /** @default true */
  readonly checkdb?: boolean;
  readonly physicalOnly?: boolean;
  readonly rowCounts?: readonly { readonly table: string; readonly min?: number }[];
  readonly smokeQueries?: readonly { readonly name: string; readonly sql: string }[];
}

/** What the checks found. Row counts are decimal strings (COUNT_BIG). */
export interface PostRestoreResults {
  readonly ok: boolean;
  readonly checkdb: CheckDbResult | null;
  readonly rowCounts: readonly { table: string; rows: string; min: number | null; ok: boolean }[];
  readonly clr: ClrState;
  readonly smokeQueries: readonly { name: string; ok: boolean; error: string | null }[];
}

/**
 * Runs every configured check on `database`. A failing check is a result, not an exception.
 * @throws SourceError when a check cannot run at all (the connection is gone); UsageError for a
 * malformed table name.
 */
export async function runPostRestoreChecks(
  exec: SqlExecutor,
  database: string,
  checks: PostRestoreChecks,
  opts: ExecOptions = {},
): Promise<PostRestoreResults> {
  const checkdb =
    checks.checkdb === false
      ? null
      : await checkDatabase(exec, database, { physicalOnly: checks.physicalOnly ?? false }, opts);
  const rowCounts = [];
  for (const { table, min } of checks.rowCounts ?? []) {
    const rows = await countRows(exec, database, splitTable(table), opts);
    rowCounts.push({
      table,
      rows: rows.toString(),
      min: min ?? null,
      ok: rows >= BigInt(min ?? 0),
    });
  }
  const clr = parseClrState((await exec.run(clrStateQuery(database), opts)).recordsets);
  const smokeQueries = [];
  for (const { name, sql } of checks.smokeQueries ?? []) {
    try {
      await exec.run(`USE ${quoteName(database)};\n${sql}`, opts);
      smokeQueries.push({ name, ok: true, error: null });
    } catch (error) {
      smokeQueries.push({ name, ok: false, error: (error as Error).message });
    } finally {
      await exec.run('USE [master];', opts);
    }
  }
  const ok =
    (checkdb?.ok ?? true) &&
    rowCounts.every((r) => r.ok) &&
    clr.problems.length === 0 &&
    smokeQueries.every((s) => s.ok);
  return { ok, checkdb, rowCounts, clr, smokeQueries };
}

/** `dbo.Atom`, `Atom` (dbo), `[odd.schema].[t]`. @throws UsageError */
export function splitTable(text: string): { schema: string; name: string } {
  const parts = [...text.matchAll(/\[((?:[^\]]|\]\])+)\]|([^.[\]]+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/\]\]/g, ']') : (m[2] ?? '').trim(),
  );
  if (parts.length === 1) return { schema: 'dbo', name: parts[0]! };
  if (parts.length === 2) return { schema: parts[0]!, name: parts[1]! };
  throw new UsageError(
    `[sqlserver:checks] row count table ${JSON.stringify(text)}: expected schema.table`,
  );
}

/**
 * Post-restore checks beyond CHECKDB: user CLR assemblies present and usable (TRUSTWORTHY is reset
 * to OFF by a restore, which breaks EXTERNAL_ACCESS/UNSAFE assemblies), and configured smoke
 * queries (the runbooks call `dbo.fn_ProjectTo3D`). research §4.9.
 * @module
 */
import * as f from './history-fields.ts';
import { quoteName, quoteString } from './quote.ts';

/** One user assembly of the restored database. */
export interface ClrAssembly {
  readonly name: string;
  readonly permissionSet: string;
}

/** What the restored database says about CLR. */
export interface ClrState {
  readonly assemblies: readonly ClrAssembly[];
  readonly trustworthy: boolean;
  readonly clrEnabled: boolean;
  /** Problems a user must fix before CLR code runs. */
  readonly problems: readonly string[];
}

/**
 * One batch returning three result sets: the database's user assemblies, its TRUSTWORTHY flag,
 * and the server's `clr enabled` setting.
 */
export function clrStateQuery(database: string): string {
  const db = quoteName(database);
  return [
    `SELECT name, permission_set_desc FROM ${db}.sys.assemblies WHERE is_user_defined = 1 ORDER BY name;`,
    `SELECT is_trustworthy_on FROM sys.databases WHERE name = ${quoteString(database)};`,
    "SELECT CONVERT(int, value_in_use) AS clr_enabled FROM sys.configurations WHERE name = 'clr enabled';",
  ].join('\n');
}

/** Reads the three result sets of {@link clrStateQuery} and lists what stops CLR code running. */
export function parseClrState(
  recordsets: readonly (readonly Record<string, unknown>[])[],
): ClrState {
  const assemblies = (recordsets[0] ?? []).map((raw) => {
    const row = f.toRow(raw);
    return {
      name: f.textField(row, 'name') ?? '',
      permissionSet: f.textField(row, 'permission_set_desc') ?? '',
    };
  });
  const trustRow = recordsets[1]?.[0];
  const trustworthy = trustRow ? f.flagField(f.toRow(trustRow), 'is_trustworthy_on') : false;
  const clrRow = recordsets[2]?.[0];
  const clrEnabled = clrRow ? f.flagField(f.toRow(clrRow), 'clr_enabled') : false;
  const problems: string[] = [];
  if (assemblies.length > 0 && !clrEnabled)
    problems.push("the server has 'clr enabled' = 0: no CLR code runs");
  const elevated = assemblies.filter((a) => a.permissionSet !== 'SAFE_ACCESS');
  if (elevated.length > 0 && !trustworthy) {
    problems.push(
      `TRUSTWORTHY is OFF after the restore; ${elevated.map((a) => `${a.name} (${a.permissionSet})`).join(', ')} ` +
        'need it ON, a signature, or sys.sp_add_trusted_assembly',
    );
  }
  return { assemblies, trustworthy, clrEnabled, problems };
}

/**
 * How the CLI reads its plain inputs (flag values, environment variables, password files), in
 * a module without dependencies: resolve.ts resolves them for every command, and early-unlock.ts
 * reads the same ones before the command's modules load.
 * @module
 */

/** `undefined` for missing and empty values: `HBR_REPOSITORY=` means unset, as in most tools. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The password a password file holds: its text without the trailing line break that
 * `echo secret > file` adds, which is not part of the password.
 */
export function passwordOfFileText(text: string): string {
  return text.replace(/(\r?\n)+$/, '');
}

/** The lower-cased scheme of a location written as a URL (`s3://…`), or undefined for a path. */
export function urlScheme(location: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1]?.toLowerCase();
}

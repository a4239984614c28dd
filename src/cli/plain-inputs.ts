/**
 * How the CLI reads its plain inputs (flag values, environment variables, password files), in
 * a module without dependencies: resolve.ts resolves them for every command, and early-unlock.ts
 * reads the same ones before the command's modules load.
 * @module
 */
import { join, resolve } from 'node:path';

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

/**
 * The config file the inputs name: `--config`'s value (`flag`), else `HBR_CONFIG` (`explicit`
 * either way), else `hbr.yaml` in `cwd`, which counts only where it exists.
 */
export function namedConfigFile(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): { file: string; explicit: boolean } {
  const named = nonEmpty(flag) ?? nonEmpty(env.HBR_CONFIG);
  if (named !== undefined) return { file: resolve(cwd, named), explicit: true };
  return { file: join(cwd, 'hbr.yaml'), explicit: false };
}

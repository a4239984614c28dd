/**
 * What a config file says about its repository, read before the config module and its schema
 * load: only the YAML parsed, nothing validated (cli/early-unlock.ts guesses with it; the command
 * reads the file properly).
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * The repository `file` names (`repository.path`, absolute as config/paths.ts makes it, or
 * `.url`), with its `passwordFile` (absolute; none beside a `keyFile`); undefined when the file
 * names none.
 * @throws when the file cannot be read or is no YAML.
 */
export function peekRepository(
  file: string,
): { location: string; passwordFile?: string } | undefined {
  const parsed = parse(readFileSync(file, 'utf8')) as { repository?: unknown } | null;
  const repository = parsed?.repository;
  if (typeof repository !== 'object' || repository === null) return undefined;
  const { path, url, passwordFile, keyFile } = repository as Record<string, unknown>;
  const folder = dirname(file);
  const local = _text(path);
  const location = local !== undefined ? resolve(folder, local) : _text(url);
  if (location === undefined) return undefined;
  const password = _text(passwordFile);
  return password === undefined || keyFile !== undefined
    ? { location }
    : { location, passwordFile: resolve(folder, password) };
}

function _text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

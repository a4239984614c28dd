/**
 * The folder hbr keeps local caches in (the folder memo of files backups, copies of a remote
 * repository's index objects and manifests): `HBR_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/hbr`, else `$HOME/.cache/hbr`. Read from the command's environment, so a
 * command run without any of them (as the in-process tests run) keeps no cache.
 * @module
 */
import { resolve } from 'node:path';
import { nonEmpty } from './plain-inputs.ts';

/** The cache folder `env` names (relative to `cwd`), or undefined when it names none. */
export function cacheDirOf(env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const own = nonEmpty(env.HBR_CACHE_DIR);
  if (own !== undefined) return resolve(cwd, own);
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  if (xdg !== undefined) return resolve(cwd, xdg, 'hbr');
  const home = nonEmpty(env.HOME);
  return home === undefined ? undefined : resolve(cwd, home, '.cache', 'hbr');
}

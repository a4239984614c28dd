/**
 * Exclusion of paths from a file backup: `--exclude` globs (a pattern without a slash matches a
 * name anywhere; with a slash, the absolute path) and `.hbrignore` files, which follow
 * `.gitignore` rules relative to their folder and apply to everything below it.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import picomatch from 'picomatch';

/** The name of per-folder ignore files. */
export const IGNORE_FILE = '.hbrignore';

/** Decides whether a path is excluded; `enter` returns the matcher for a subfolder. */
export interface Excluder {
  excludes(absolutePath: string, isDirectory: boolean): boolean;
  /**
   * The excluder for entries of `folder` (reads its `.hbrignore`, if any). Given the folder's
   * listing, the file is opened only when listed: a failed open per folder is a thread-pool
   * round trip and an error object, which a walk of hundreds of folders feels.
   */
  enter(folder: string, listing?: readonly { readonly name: string }[]): Promise<Excluder>;
}

/**
 * Creates the top-level excluder from `--exclude` globs. A glob ending in `/` matches folders
 * only, as in `.gitignore` (`cache/`: folders named cache; `/data/cache/`: that folder).
 */
export function createExcluder(globs: readonly string[]): Excluder {
  const folderOnly = (g: string): boolean => g.length > 1 && g.endsWith('/');
  const any = _globs(globs.filter((g) => !folderOnly(g)));
  const folders = _globs(globs.filter(folderOnly).map((g) => g.replace(/\/+$/, '')));
  return _excluder((path, isDirectory) => any(path) || (isDirectory && folders(path)), []);
}

// --- internal ---

interface IgnoreScope {
  readonly base: string;
  readonly rules: Ignore;
}

/** Whether a path matches one of `globs`: by name without a slash, else by the absolute path. */
function _globs(globs: readonly string[]): (path: string) => boolean {
  // Apart: picomatch's `basename` option also keeps patterns with a slash from matching whole
  // paths (`/data/*.tmp` matched nothing).
  const names = globs.filter((g) => !g.includes('/'));
  const paths = globs.filter((g) => g.includes('/'));
  const byName = names.length > 0 ? picomatch(names, { dot: true, basename: true }) : undefined;
  const byPath = paths.length > 0 ? picomatch(paths, { dot: true }) : undefined;
  return (path) => Boolean(byName?.(path) || byPath?.(path));
}

function _excluder(
  match: (path: string, isDirectory: boolean) => boolean,
  scopes: readonly IgnoreScope[],
): Excluder {
  return {
    excludes(path, isDirectory) {
      if (match(path, isDirectory)) return true;
      // As git does: the deepest .hbrignore with a rule for the path decides, so a `!name`
      // below re-includes what one above excluded.
      let ignored = false;
      for (const { base, rules } of scopes) {
        const rel = relative(base, path);
        if (!rel || rel === '..' || rel.startsWith(`..${sep}`)) continue; // not below `base`
        const verdict = rules.test(isDirectory ? `${rel}/` : rel);
        if (verdict.ignored) ignored = true;
        else if (verdict.unignored) ignored = false;
      }
      return ignored;
    },
    async enter(folder, listing) {
      if (listing && !listing.some((entry) => entry.name === IGNORE_FILE)) return this;
      let text: string;
      try {
        text = await readFile(join(folder, IGNORE_FILE), 'utf8');
      } catch {
        return this;
      }
      return _excluder(match, [...scopes, { base: folder, rules: ignore().add(text) }]);
    },
  };
}

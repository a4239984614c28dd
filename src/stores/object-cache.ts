/**
 * A local copy of the small objects every command reads from a repository across the network:
 * its index objects, its backups' manifests and its key files. Without one, each command against
 * Azure or S3 fetched every one of them again: with 160 backups of one file on Azurite, a backup
 * of one changed file took 2.2-2.4 s (1.5-1.8 with the copies), and a log backup every 15 minutes
 * adds a hundred a day. restic and kopia keep such a cache too. A key file's copy saves its read,
 * and lets the key derivation start before the command loads (cli/early-unlock.ts).
 *
 * All three kinds are named by the SHA-256 of their bytes and never rewritten, so a copy can only
 * be missing, never out of date, and one is used only when its bytes still hash to its name: a
 * copy damaged on the local disk (or put there by someone else) is fetched again, never trusted.
 * The store stays the truth for what exists: listings, `head` and ranged reads go to it, a
 * listing of `index/`, `snapshots/` or `keys/` read to its end drops the copies of objects no
 * longer there (pruned, forgotten, removed), and `delete` drops the object's copy. `hbr check`,
 * `hbr repair` and `hbr verify` do not use the cache: they must judge the store's own bytes.
 *
 * The cache never fails a command: a copy that cannot be written (a full or read-only disk) is
 * skipped, and a command reads from the store as without a cache.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from './types.ts';

/** Keys whose objects are kept: index objects, manifests and key files, named by their SHA-256. */
const CACHED = /^(index|snapshots|keys)\/([0-9a-f]{64})$/;

/** The listings after which copies of objects the store no longer has are dropped. */
const LISTED = new Set(['index/', 'snapshots/', 'keys/']);

/** How the names of copies being written begin (another process may be writing one). */
const TEMP_PREFIX = '.tmp-';

/**
 * The folder of `store`'s copies under the user's cache folder `cacheDir`: one per store, so that
 * a listing of one drops only its own copies.
 */
export function objectCacheFolder(cacheDir: string, store: Pick<Store, 'name'>): string {
  const id = createHash('sha256').update(store.name).digest('hex').slice(0, 32);
  return join(cacheDir, 'objects', id);
}

/** Wraps `store` so that its index objects, manifests and key files are kept in `folder`. */
export function withObjectCache(store: Store, folder: string): Store {
  const pathOf = (key: string): string => join(folder, ...key.split('/'));

  /** The copy of `key`, if one is kept and still hashes to its name. */
  const copyOf = async (key: string, name: string): Promise<Buffer | undefined> => {
    const bytes = await readFile(pathOf(key)).catch(() => undefined);
    if (bytes === undefined || _sha256(bytes) === name) return bytes;
    await rm(pathOf(key), { force: true }).catch(() => undefined);
    return undefined;
  };

  /** Keeps a copy of `bytes` as `key`, written whole under a temporary name first. */
  const keep = async (key: string, bytes: Uint8Array): Promise<void> => {
    const [prefix = ''] = key.split('/');
    const temp = join(folder, prefix, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(join(folder, prefix), { recursive: true });
      await writeFile(temp, bytes, { mode: 0o600 });
      await rename(temp, pathOf(key));
    } catch {
      await rm(temp, { force: true }).catch(() => undefined);
    }
  };

  /** Drops the copies in `prefix` (`index/`, `snapshots/`, `keys/`) of objects not in `listed`. */
  const dropUnlisted = async (prefix: string, listed: ReadonlySet<string>): Promise<void> => {
    const names = await readdir(join(folder, prefix)).catch(() => [] as string[]);
    for (const name of names) {
      if (listed.has(`${prefix}${name}`)) continue;
      await rm(join(folder, prefix, name), { force: true }).catch(() => undefined);
    }
  };

  return {
    ...store,
    async get(key, options = {}) {
      const name = CACHED.exec(key)?.[2];
      if (name === undefined || options.range) return store.get(key, options);
      const copy = await copyOf(key, name);
      if (copy) return copy;
      const bytes = await store.get(key, options);
      // Damage in the store is not copied: its reader meets it there, as without a cache.
      if (_sha256(bytes) === name) await keep(key, bytes);
      return bytes;
    },
    async put(key, data, options) {
      await store.put(key, data, options);
      // What a command writes, the next one reads: a backup's index object and manifest.
      if (CACHED.test(key)) await keep(key, data);
    },
    async delete(key, options) {
      await store.delete(key, options);
      if (CACHED.test(key)) await rm(pathOf(key), { force: true }).catch(() => undefined);
    },
    list(prefix, options) {
      if (!LISTED.has(prefix)) return store.list(prefix, options);
      return (async function* () {
        const listed = new Set<string>();
        for await (const info of store.list(prefix, options)) {
          listed.add(info.key);
          yield info;
        }
        // Only after the whole listing: one cut short says nothing of what is missing.
        await dropUnlisted(prefix, listed);
      })();
    },
  };
}

function _sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

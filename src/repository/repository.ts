/**
 * Opening and creating repositories, and reading what they hold: index, blobs, trees, backups.
 * Writing goes through a backup session (`session.ts`).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { isAbsolute, relative, sep } from 'node:path';
import pLimit from 'p-limit';
import {
  IntegrityError,
  NotFoundError,
  RepositoryNotFoundError,
  StoreError,
  UsageError,
} from '../errors.ts';
import type { Store } from '../stores/types.ts';
import { decodeBlob, type BlobType } from './blob-codec.ts';
import { keepLease, leaseStoredBlob, type BlobLease } from './codec-pool.ts';
import { CHUNKER_PROFILES } from './chunker.ts';
import { deriveKeys, type RepositoryKeys } from './crypto.ts';
import { isIndexId, openIndex } from './index-file.ts';
import { addKey, unlockMasterKey, type Credential, type UnlockOptions } from './keys.ts';
import { decodeManifest, isBackupId, isFailedBackup, manifestKey } from './manifest.ts';
import { createMasterIndex, type MasterIndex } from './master-index.ts';
import { createSpanReads } from './span-reads.ts';
import { packKey } from './pack.ts';
import { decodeRepoConfig, encodeRepoConfig, type RepoConfig } from './repo-config.ts';
import { decodeTree, type TreeNode } from './tree.ts';
import type { BackupRecord } from './types.ts';
import { compareText } from '../util/compare-text.ts';

/** An open repository: its store, keys and config, and readers over its contents. */
export interface OpenRepository {
  readonly store: Store;
  readonly keys: RepositoryKeys;
  readonly masterKey: Buffer;
  readonly keyId: string;
  readonly config: RepoConfig;
  /**
   * The union of all index objects, loaded on first use. A damaged index object is left out;
   * `onDamaged` is told of each, and `onStray` of each stray under `index/` (see `indexIds`), when
   * the index is (re)loaded by this call.
   */
  index(options?: {
    reload?: boolean;
    signal?: AbortSignal;
    onDamaged?: (id: string, error: IntegrityError) => void;
    onStray?: (key: string) => void;
  }): Promise<MasterIndex>;
  /**
   * Ids of all index objects: the objects under `index/` named by an index id (`isIndexId`).
   * Others are strays, passed to `onStray` (by key) and otherwise left alone.
   */
  indexIds(options?: { onStray?: (key: string) => void }): Promise<string[]>;
  /** Reads and verifies one blob. @throws NotFoundError, IntegrityError, StoreError */
  readBlob(type: BlobType, id: Buffer, signal?: AbortSignal): Promise<Buffer>;
  /**
   * Reads and verifies one blob into shared memory, valid until released: for readers that only
   * pass the bytes on (write them, check them), saving a copy per blob.
   * @throws NotFoundError, IntegrityError, StoreError
   */
  leaseBlob(type: BlobType, id: Buffer, signal?: AbortSignal): Promise<BlobLease>;
  /**
   * Reads and parses one tree blob (hex id). Trees read are kept for later reads, up to 1024 of
   * them, unless `cache` is false: a walk that reads each tree once (a restore) would otherwise
   * hold every folder of the backup it walks. With `onDuplicate`, a name held twice leaves out
   * its nodes and is passed to it instead of failing the tree (see `decodeTree`); such a tree is
   * not kept.
   */
  readTree(
    id: string,
    signal?: AbortSignal,
    options?: { cache?: boolean; onDuplicate?: (name: string) => void },
  ): Promise<TreeNode[]>;
  /**
   * Every backup, oldest first. A damaged manifest is left out, passed to `onDamaged`, so that it
   * does not hide every other backup; with `strict` it throws (prune, which must know every
   * backup before it deletes anything). An object under `snapshots/` whose name is no backup id
   * is no backup: it is left out, its key passed to `onStray`. A manifest listed but gone when
   * read was forgotten meanwhile (`hbr forget` runs beside readers): left out too.
   */
  backups(
    signal?: AbortSignal,
    options?: {
      strict?: boolean;
      onDamaged?: (error: IntegrityError) => void;
      onStray?: (key: string) => void;
    },
  ): Promise<BackupRecord[]>;
  /**
   * A backup by id, unique prefix, or `latest`: the newest backup (of `source`, if given; whose
   * paths hold every path of `holding`, if given) that stored something. A files backup that
   * stored no file because what it was given could not be read is passed over by `latest`; its
   * id still names it.
   */
  findBackup(ref: string, options?: BackupFilter): Promise<BackupRecord>;
}

/** What `latest` is the newest of. */
export interface BackupFilter {
  /** Only backups of this source (an id of another source is not found either). */
  readonly source?: string;
  /**
   * `latest` only: backups whose recorded paths hold each of these (absolute) paths; a list
   * stands for one path spelled several ways (as given, and through the links it leads through),
   * any of which.
   */
  readonly holding?: readonly (string | readonly string[])[];
}

/** Options of {@link initRepository}. */
export interface InitOptions {
  /** @default 16 MiB: on a remote store a backup holds up to three in memory (one filling, two uploading) */
  readonly packSize?: number;
  /** zstd level. @default 1: on model weights level 3 costs three times the CPU for 0.5 % less size */
  readonly compressionLevel?: number;
  /** Lower scrypt cost, for tests only. */
  readonly scryptParams?: { N: number; r: number; p: number };
}

/**
 * Creates a repository in an empty location: a random master key wrapped under `credential`,
 * then the config. The config is written last, so a failed init leaves no repository.
 * @throws UsageError when a repository already exists there.
 */
export async function initRepository(
  store: Store,
  credential: Credential,
  options: InitOptions = {},
): Promise<OpenRepository> {
  if (await store.head('config')) {
    throw new UsageError(`[repository:${store.name}] a repository already exists here`);
  }
  const masterKey = randomBytes(64);
  const keys = deriveKeys(masterKey);
  const keyId = await addKey(store, masterKey, credential, { scryptParams: options.scryptParams });
  const config: RepoConfig = {
    version: 1,
    id: randomBytes(16).toString('hex'),
    created: new Date().toISOString(),
    chunkers: { ...CHUNKER_PROFILES },
    packSize: options.packSize ?? 16 * 1024 * 1024,
    compressionLevel: options.compressionLevel ?? 1,
  };
  await store.put('config', encodeRepoConfig(keys, config));
  return _open(store, masterKey, keyId, config);
}

/**
 * Opens an existing repository with a password or key file.
 * @throws RepositoryNotFoundError when there is no repository; WrongPasswordError.
 */
export async function openRepository(
  store: Store,
  credential: Credential,
  options: UnlockOptions = {},
): Promise<OpenRepository> {
  // The config is read while the key files are: from a remote store each read is a round trip.
  const sealedConfig = store.get('config').catch(async (error: unknown) => {
    // Missing, or below something that is no folder (a local path through a file), as `head`
    // tells; any other failure is the store's to report.
    const missing =
      (error instanceof StoreError && error.status === 404) ||
      (await store.head('config').then(
        (info) => info === undefined,
        () => false,
      ));
    if (!missing) throw error;
    throw new RepositoryNotFoundError(
      `[repository:${store.name}] no repository here (no config object); create one with \`hbr init\``,
    );
  });
  const unlocking = unlockMasterKey(
    store,
    credential,
    async (masterKey) => decodeRepoConfig(deriveKeys(masterKey), await sealedConfig),
    options,
  );
  // Awaited once the config is known to be there: no repository says more than a key's failure.
  unlocking.catch(() => undefined);
  await sealedConfig;
  const unlocked = await unlocking;
  return _open(store, unlocked.masterKey, unlocked.keyId, unlocked.accepted);
}

// --- internal ---

function _open(store: Store, masterKey: Buffer, keyId: string, config: RepoConfig): OpenRepository {
  const keys = deriveKeys(masterKey);
  let loaded: Promise<MasterIndex> | undefined;
  const treeCache = new Map<string, TreeNode[]>();
  const limit = pLimit(store.properties.connections);

  const indexIds = async (options: { onStray?: (key: string) => void } = {}): Promise<string[]> => {
    const ids: string[] = [];
    for await (const { key } of store.list('index/')) {
      const name = key.slice('index/'.length);
      if (isIndexId(name)) ids.push(name);
      else options.onStray?.(key);
    }
    return ids.sort();
  };
  const loadIndex = async (
    signal?: AbortSignal,
    onDamaged?: (id: string, error: IntegrityError) => void,
    onStray?: (key: string) => void,
  ): Promise<MasterIndex> => {
    const ids = await indexIds(onStray ? { onStray } : {});
    // A damaged index object is left out, not allowed to fail every read: the
    // blobs only it lists are then missing, file by file, and check names it. Its packs are
    // indexed again by the next backup, prune or repair (from their headers).
    const sound: string[] = [];
    const decoded = await Promise.all(
      ids.map((id) =>
        limit(async () => {
          const bytes = await store.get(`index/${id}`, { signal });
          try {
            const packs = openIndex(keys, id, bytes);
            sound.push(id);
            return packs;
          } catch (error) {
            if (!(error instanceof IntegrityError)) throw error;
            onDamaged?.(id, error);
            return [];
          }
        }),
      ),
    );
    return createMasterIndex(decoded, sound);
  };

  /** Where a blob is stored, and how to read its stored bytes (into `into` when it fits). */
  const locate = async (type: BlobType, id: Buffer, signal?: AbortSignal) => {
    const where = (await repo.index()).get(id);
    const what = `${type} blob ${id.toString('hex').slice(0, 16)}`;
    if (!where) throw new NotFoundError(`${what}: not in the index`);
    const blob = {
      encodedLength: where.length,
      rawLength: where.rawLength,
      what: `${what} in pack ${where.packId}`,
    };
    const read = (into?: Buffer): Promise<Buffer> =>
      store.get(packKey(where.packId), {
        range: { offset: where.offset, length: where.length },
        signal,
        ...(into ? { into } : {}),
      });
    return { blob, read, where };
  };
  const spans = store.properties.remote ? createSpanReads(store) : undefined;

  /** Reads and parses tree `id`, kept for later reads as `OpenRepository.readTree` says. */
  const readTreeOnce = async (
    id: string,
    signal?: AbortSignal,
    options?: { cache?: boolean; onDuplicate?: (name: string) => void },
  ): Promise<TreeNode[]> => {
    let whole = true;
    const nodes = decodeTree(
      await repo.readBlob('tree', Buffer.from(id, 'hex'), signal),
      `tree ${id}`,
      options?.onDuplicate &&
        ((name) => {
          whole = false;
          options.onDuplicate?.(name);
        }),
    );
    if (options?.cache === false || !whole) return nodes;
    if (treeCache.size > 1024) treeCache.clear();
    treeCache.set(id, nodes);
    return nodes;
  };
  /** Reads of trees under way that later readers of the same tree take (see `readTree`). */
  const treeReads = new Map<string, Promise<TreeNode[]>>();

  const repo: OpenRepository = {
    store,
    keys,
    masterKey,
    keyId,
    config,
    index(options = {}) {
      if (!loaded || options.reload) {
        loaded = loadIndex(options.signal, options.onDamaged, options.onStray);
        loaded.catch(() => (loaded = undefined));
      }
      return loaded;
    },
    indexIds,
    async readBlob(type, id, signal) {
      // A tree is parsed on this thread next: decoded here too, it saves a worker's round trip,
      // the copy out of shared memory and, in a backup that stores nothing new, starting the
      // workers at all (a folder of four large files has a tree of 90 KB, which went to one).
      // An unchanged re-backup of the benchmark's data: 1.15 s instead of 1.25 (medians of 8).
      if (type !== 'tree') return keepLease(await repo.leaseBlob(type, id, signal));
      const { blob, read, where } = await locate(type, id, signal);
      // From a remote store, trees read ahead together are read together (span-reads.ts).
      const stored = spans
        ? await spans.read(packKey(where.packId), where.offset, where.length, signal)
        : await read();
      return decodeBlob(keys, type, id, stored, blob.rawLength, blob.what);
    },
    async leaseBlob(type, id, signal) {
      const { blob, read } = await locate(type, id, signal);
      return leaseStoredBlob(keys, type, id, blob, read);
    },
    async readTree(id, signal, options) {
      const cached = treeCache.get(id);
      if (cached) return cached;
      // Walks side by side (check's, of backups sharing most trees) take one read of a tree.
      const shared = options?.cache !== false && options?.onDuplicate === undefined;
      const reading = shared ? treeReads.get(id) : undefined;
      if (reading) return reading;
      if (!shared) return readTreeOnce(id, signal, options);
      const read = readTreeOnce(id, signal);
      treeReads.set(id, read);
      try {
        return await read;
      } finally {
        treeReads.delete(id);
      }
    },
    async backups(signal, options = {}) {
      const keysList: string[] = [];
      for await (const { key } of store.list('snapshots/', { signal })) {
        if (isBackupId(key.slice('snapshots/'.length))) keysList.push(key);
        else options.onStray?.(key);
      }
      const read = await Promise.all(
        keysList.map((key) =>
          limit(async () => {
            const id = key.slice('snapshots/'.length);
            let bytes: Buffer;
            try {
              bytes = await store.get(key, { signal });
            } catch (error) {
              if (error instanceof StoreError && error.status === 404) return undefined;
              throw error;
            }
            try {
              return decodeManifest(keys, id, bytes);
            } catch (error) {
              if (options.strict || !(error instanceof IntegrityError)) throw error;
              options.onDamaged?.(error);
              return undefined;
            }
          }),
        ),
      );
      const records = read.filter((r): r is BackupRecord => r !== undefined);
      return records.sort(
        (a, b) => compareText(a.startedAt, b.startedAt) || compareText(a.id, b.id),
      );
    },
    async findBackup(ref, options = {}) {
      // A full id names its manifest object: one read, not a listing of every backup (ranged
      // reads during RESTORE FROM URL look their backup up once per request).
      if (/^[0-9a-f]{64}$/.test(ref)) {
        const head = await store.head(manifestKey(ref));
        if (head) {
          const found = decodeManifest(keys, ref, await store.get(manifestKey(ref)));
          if (!options.source || found.source === options.source) return found;
        }
        throw new NotFoundError(`no backup ${ref.slice(0, 8)} in the repository`);
      }
      const all = (await repo.backups()).filter(
        (b) => !options.source || b.source === options.source,
      );
      if (ref === 'latest') {
        const holding = options.holding ?? [];
        const candidates = all.filter((b) =>
          holding.every((p) =>
            (typeof p === 'string' ? [p] : p).some((q) => holdsPath(b.paths, q)),
          ),
        );
        const last = candidates.filter((b) => !isFailedBackup(b)).at(-1);
        if (!last) {
          const of = [
            ...(options.source ? [`of source ${options.source}`] : []),
            ...(holding.length > 0
              ? [
                  `holding ${holding.map((p) => (typeof p === 'string' ? p : p.join(' or '))).join(', ')}`,
                ]
              : []),
          ].join(' ');
          const failed = candidates.length;
          throw new NotFoundError(
            `no backups${of ? ` ${of}` : ''} in the repository` +
              (failed > 0
                ? ` that stored anything (${failed} stored nothing: what they were given could not be read; name one by id to use it)`
                : ''),
          );
        }
        return last;
      }
      if (!/^[0-9a-f]{4,64}$/.test(ref)) {
        throw new UsageError(
          `"${ref}" is not a backup id (hex, at least 4 characters) or "latest"`,
        );
      }
      const matches = all.filter((b) => b.id.startsWith(ref));
      if (matches.length > 1) throw new UsageError(`backup id prefix ${ref} is ambiguous`);
      const found = matches[0];
      if (!found) throw new NotFoundError(`no backup ${ref} in the repository`);
      return found;
    },
  };
  return repo;
}

/** Whether a backup of `paths` holds `path`: one of them is it or a folder above it. */
export function holdsPath(paths: readonly string[], path: string): boolean {
  return paths.some((p) => {
    const below = relative(p, path);
    return below === '' || (below !== '..' && !below.startsWith(`..${sep}`) && !isAbsolute(below));
  });
}

/**
 * Keeping kept backups undeletable: on stores with object retention (S3 Object Lock, Azure
 * version-level immutability), `hbr maintain` extends the retain-until date of every object
 * the kept backups need — their packs, all index objects and manifests, the key files and the
 * config — so ransomware holding the store's credentials cannot delete or overwrite them before
 * that date. Objects only forgotten backups need are left to expire, so prune can free them later.
 * @module
 */
import pLimit from 'p-limit';
import { IntegrityError, isHbrError } from '../errors.ts';
import { compareText } from '../util/compare-text.ts';
import { acquireLock, type OnLockLeft } from './locks.ts';
import { idKey } from './master-index.ts';
import { packKey } from './pack.ts';
import type { OpenRepository } from './repository.ts';

/** Options of {@link extendRetentionLocks}. */
export interface RetentionOptions {
  /** The new retain-until date (a date in the past only shortens nothing: stores never shorten). */
  readonly retainUntil: Date;
  readonly signal?: AbortSignal;
  /** Called after each object with the count done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Told when the lock cannot be removed at the end (see `RepositoryLock.release`). */
  readonly onLockLeft?: OnLockLeft;
}

/** What {@link extendRetentionLocks} did (`hbr maintain --json`). */
export interface RetentionReport {
  readonly store: string;
  /** Whether the store can hold objects until a date; when false, nothing was done. */
  readonly supported: boolean;
  readonly retainUntil: string;
  /** Objects whose retention was extended, per class. */
  readonly extended: {
    readonly config: number;
    readonly keys: number;
    readonly index: number;
    readonly snapshots: number;
    readonly data: number;
  };
  /** Packs that no kept backup needs: left to expire. */
  readonly packsLeft: number;
  /** Objects the store refused to extend (each with why); the others were extended all the same. */
  readonly failed: readonly { readonly key: string; readonly message: string }[];
}

/**
 * Extends the retention of every object still needed by a backup of the repository to
 * `retainUntil`, under a shared lock (so prune cannot run meanwhile). On a store without
 * retention support it returns `supported: false` and changes nothing.
 * An object the store refuses to extend is reported in `failed` and the others are extended all
 * the same: one refusal must not leave every other object to expire.
 * @throws IntegrityError when a kept backup needs a blob no index names (run `hbr check`).
 */
export async function extendRetentionLocks(
  repo: OpenRepository,
  options: RetentionOptions,
): Promise<RetentionReport> {
  const { store } = repo;
  const { signal } = options;
  const extended = { config: 0, keys: 0, index: 0, snapshots: 0, data: 0 };
  const base = { store: store.name, retainUntil: options.retainUntil.toISOString() };
  const extend = store.extendRetention?.bind(store);
  if (!store.properties.supportsRetention || !extend)
    return { ...base, supported: false, extended, packsLeft: 0, failed: [] };

  const lock = await acquireLock(store, repo.keys, {
    exclusive: false,
    operation: 'maintain',
    onLockLeft: options.onLockLeft,
  });
  try {
    const index = await repo.index({ reload: true, signal });
    const live = new Set<string>();
    const packs = new Set<string>();
    const mark = (hex: string, what: string): void => {
      const id = Buffer.from(hex, 'hex');
      const where = index.get(id);
      if (!where) throw new IntegrityError(`${what} ${hex.slice(0, 16)}: not in the index`);
      packs.add(where.packId);
    };
    const walk = async (tree: string): Promise<void> => {
      const key = idKey(Buffer.from(tree, 'hex'));
      if (live.has(key)) return; // shared subtrees are walked once
      live.add(key);
      mark(tree, 'tree');
      for (const node of await repo.readTree(tree, signal)) {
        for (const hex of node.content ?? []) mark(hex, `data blob of ${node.name}`);
        if (node.subtree) await walk(node.subtree);
      }
    };
    const backups = await repo.backups(signal, { strict: true });
    for (const backup of backups) await walk(backup.tree);

    const targets: { key: string; kind: keyof typeof extended }[] = [
      { key: 'config', kind: 'config' },
    ];
    for (const kind of ['keys', 'index'] as const)
      for await (const { key } of store.list(`${kind}/`, { signal })) targets.push({ key, kind });
    for (const b of backups) targets.push({ key: `snapshots/${b.id}`, kind: 'snapshots' });
    for (const packId of packs) targets.push({ key: packKey(packId), kind: 'data' });

    const limit = pLimit(store.properties.connections);
    let done = 0;
    const failed: { key: string; message: string }[] = [];
    await Promise.all(
      targets.map(({ key, kind }) =>
        limit(async () => {
          try {
            await extend(key, options.retainUntil, { signal });
            extended[kind]++;
          } catch (error) {
            if (signal?.aborted || !isHbrError(error)) throw error;
            failed.push({ key, message: error.message });
          }
          options.onProgress?.(++done, targets.length);
        }),
      ),
    ).catch((error: unknown) => {
      limit.clearQueue();
      throw error;
    });
    failed.sort((a, b) => compareText(a.key, b.key));
    const packsLeft = index.packs().size - packs.size;
    return { ...base, supported: true, extended, packsLeft, failed };
  } finally {
    await lock.release();
  }
}

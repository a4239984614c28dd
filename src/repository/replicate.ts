/**
 * Replication: keeping a second repository (the off-site replica) as a byte-identical copy of
 * the first. Objects are copied as they are (no re-encryption: same keys, chunker and ids), in
 * the order that keeps the replica valid at every moment — packs, then index objects, then
 * manifests — so an interrupted run leaves at worst unindexed packs, which the format tolerates
 * and the next run completes. Nothing is ever deleted on the replica, and `locks/` is not copied.
 * Every key the replica lacks is copied (the replica must open with every password that opens
 * the source); a key removed from the source stays on the replica, with a warning, for deleting
 * keys there (maybe write-once) is the user's decision.
 * @module
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { IntegrityError, StoreError, UsageError } from '../errors.ts';
import type { ObjectInfo, Store } from '../stores/types.ts';
import type { RepositoryKeys } from './crypto.ts';
import { acquireLock, type OnLockLeft, type RepositoryLock } from './locks.ts';
import { packKey } from './pack.ts';
import { createSourceGapCheck, type SourceGap } from './replicate-gaps.ts';

/** The object classes replication copies, in the order of {@link REPLICATION_ORDER}. */
export type ReplicatedKind = 'keys' | 'config' | 'data' | 'index' | 'snapshots' | 'notes';

/** Copy order: a replica's config and keys first, then data before index before manifests, then notes. */
export const REPLICATION_ORDER: readonly ReplicatedKind[] = [
  'keys',
  'config',
  'data',
  'index',
  'snapshots',
  'notes',
];

/**
 * Bytes of objects held in memory at once while copying (at least one object). Between two stores
 * of 16 connections (Azure's and S3's default), 256 MiB let 16 packs of 16 MiB be in flight: a
 * replica of 273 MiB of packs from Azurite to Azurite held 496-530 MB of peak RSS; with 96 MiB
 * 256-262 MB, as fast at once and behind 100 ms of latency (9.9 s against 10.2; 64 MiB 11.3 s).
 */
const MEMORY_BUDGET = 96 * 1024 * 1024;

/** What happened to one class of objects. */
export interface KindReport {
  /** Objects copied in this run and their bytes. */
  copied: number;
  copiedBytes: number;
  /**
   * Objects the replica already held (same size): not written; index objects and manifests among
   * them are read from the source for the gap check, packs are not read.
   */
  present: number;
  /** Objects not copied: damaged on the source (see `errors`) or gone from it meanwhile. */
  failed: number;
  vanished: number;
}

/** Something wrong with one object: an error (`ok: false`) or a warning. */
export interface ReplicationProblem {
  readonly key: string;
  readonly kind: ReplicatedKind;
  /**
   * Errors: `integrity`, the source's bytes do not hash to the object's name (not copied);
   * `missing`, the source's index or backups name an object the source lacks, and so does the
   * replica; `key`, the key that opened the source is not on the replica as it is on the source.
   * Warnings: `missing` for a pack the replica still holds; `removed-key`, a key on the replica
   * that is no longer on the source; `misplaced`, a pack in another folder than its name's.
   */
  readonly reason: 'integrity' | 'missing' | 'key' | 'removed-key' | 'misplaced';
  readonly message: string;
}

/** The result of {@link replicateRepository} (`hbr replicate --json`). */
export interface ReplicationReport {
  readonly source: string;
  readonly target: string;
  /** The target held no repository before this run. */
  readonly newReplica: boolean;
  readonly kinds: Record<ReplicatedKind, KindReport>;
  readonly copiedObjects: number;
  readonly copiedBytes: number;
  readonly errors: ReplicationProblem[];
  /** Worth the user's attention, but the replica is as whole as the source. */
  readonly warnings: ReplicationProblem[];
  readonly ok: boolean;
  readonly durationMs: number;
}

/**
 * Cumulative progress of the whole run, reported after every object copied, and after every
 * index object and manifest the replica already holds, which is read for the gap check only:
 * on an up-to-date replica that reading is all a run does, and on a remote source it takes a
 * while. Totals count both, known once both repositories are listed.
 */
export interface ReplicationProgress {
  /** The class of the object just done. */
  readonly kind: ReplicatedKind;
  readonly objectsDone: number;
  readonly objectsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

/** Options of {@link replicateRepository}. */
export interface ReplicateOptions {
  /**
   * The source repository's keys: lock objects are sealed, so the shared lock that keeps
   * `prune` away from the source while objects are copied needs them.
   */
  readonly keys: RepositoryKeys;
  /**
   * The id of the key that opened the source (`OpenRepository.keyId`): success is reported
   * only once the replica holds it byte for byte, so the same password opens the replica.
   */
  readonly keyId: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ReplicationProgress) => void;
  /**
   * Told of each object listed before any is read: both repositories are listed first, which on
   * a remote store of many packs takes a while (a thousand keys a request on S3). `listed` counts
   * the run's objects listed so far, of both; `prefix` is the folder being listed.
   */
  readonly onListing?: (listing: { readonly listed: number; readonly prefix: string }) => void;
  /** Objects copied at once. @default the smaller `connections` of the two stores */
  readonly concurrency?: number;
  /** Retain-until for written objects; refused (UsageError) when the target has no retention. */
  readonly retainUntil?: Date;
  /** Told when a lock (source's or target's) cannot be removed at the end (`RepositoryLock.release`). */
  readonly onLockLeft?: OnLockLeft;
}

/**
 * Copies every object of `source` that `target` lacks (or holds with another size), byte for
 * byte. Each content-named object (`keys/`, `data/`, `index/`, `snapshots/`) is re-hashed
 * against its name before it is written; a damaged one is not copied and is listed in
 * `errors` (`ok: false`) after everything else has been copied. So are packs and root trees
 * the source's index objects and backups name but the source lacks (see `createSourceGapCheck`:
 * every index object and manifest is read for it, and read once, copied or not), and a replica
 * that does not hold the key `keyId` byte for byte once copying is done.
 *
 * Listing goes manifests → index → packs, so every object a listed manifest needs was written
 * before it was listed, even while backups run. Shared locks on both repositories keep prune
 * out of either meanwhile; once either lock is lost (not refreshed for long), nothing more is
 * written.
 * @throws UsageError when `target` holds a different repository, or when `retainUntil` is given
 *   and `target` has no retention (before anything is copied); RepositoryLockedError when an
 *   exclusive lock (prune) is held on the source or the target, or when a lock is lost;
 *   StoreError when a store fails after retries; InterruptedError/AbortError when `signal`
 *   aborts (the target stays valid; run again).
 * @example const report = await replicateRepository(repo.store, replica, { keys: repo.keys, keyId: repo.keyId });
 */
export async function replicateRepository(
  source: Store,
  target: Store,
  options: ReplicateOptions,
): Promise<ReplicationReport> {
  const started = Date.now();
  const { signal } = options;
  if (options.retainUntil && !target.properties.supportsRetention) {
    throw new UsageError(
      `[replicate] ${target.name} does not support object retention (S3 Object Lock or Azure version-level immutability, enabled in the location URL), so the retention asked for (--retain-for, or the replica's retainFor) cannot be applied; nothing was copied`,
    );
  }
  const lock = await acquireLock(source, options.keys, {
    exclusive: false,
    operation: 'replicate',
    onLockLeft: options.onLockLeft,
  });
  let targetLock: RepositoryLock | undefined;
  try {
    const sourceConfig = await source.get('config', { signal });
    const newReplica = await _checkTarget(source, target, sourceConfig, signal);
    // The replica is the same repository (same keys): a shared lock there keeps a prune of the
    // replica from deleting packs copied here before their index objects arrive.
    targetLock = await acquireLock(target, options.keys, {
      exclusive: false,
      operation: 'replicate',
      onLockLeft: options.onLockLeft,
    });
    let counted = 0;
    const list = (store: Store, prefix: string): Promise<ObjectInfo[]> =>
      _list(store, prefix, signal, () =>
        options.onListing?.({ listed: ++counted, prefix: `${store.name}: ${prefix}` }),
      );
    const listed = new Map<ReplicatedKind, ObjectInfo[]>();
    for (const kind of ['notes', 'snapshots', 'index', 'data', 'keys'] as const)
      listed.set(kind, await list(source, `${kind}/`));
    listed.set('config', [{ key: 'config', size: sourceConfig.length }]);
    const have = new Map<ReplicatedKind, Map<string, number>>();
    for (const kind of REPLICATION_ORDER) {
      const held = new Map<string, number>();
      if (kind === 'config') {
        if (!newReplica) held.set('config', sourceConfig.length);
      } else {
        for (const o of await list(target, `${kind}/`)) held.set(o.key, o.size);
      }
      have.set(kind, held);
    }

    const errors: ReplicationProblem[] = [];
    const warnings: ReplicationProblem[] = [];
    // An object is read only at its own key (as check says): a pack, index object, manifest or
    // key file in another folder (`index/index/<id>`, a copy gone wrong) is none of the
    // repository's, whatever its name, and is not copied.
    for (const kind of ['data', 'index', 'snapshots', 'keys'] as const) {
      const [inPlace, misplaced] = _byPlace(kind, listed.get(kind) ?? []);
      for (const o of misplaced) {
        warnings.push({
          key: o.key,
          kind,
          reason: 'misplaced',
          message: `[replicate:${source.name}] ${o.key} is not where ${_WHAT[kind]} of that name belongs (${_keyOf(kind, _name(o.key))}): hbr never reads it there; not copied`,
        });
      }
      listed.set(kind, inPlace);
    }
    const sourceKeys = new Set((listed.get('keys') ?? []).map((o) => o.key));
    for (const key of have.get('keys')?.keys() ?? []) {
      if (sourceKeys.has(key)) continue;
      warnings.push({
        key,
        kind: 'keys',
        reason: 'removed-key',
        message: `[replicate:${target.name}] ${key} is on the replica but no longer on the source: the password or key file it holds still opens the replica; not deleted (\`hbr --repo <replica> key remove ${_name(key).slice(0, 8)}\` if it should not)`,
      });
    }
    // Gaps are found from the index objects and manifests as the copy below reads them, and
    // reported before the copy's own errors.
    const gapErrors: ReplicationProblem[] = [];
    const addGap = ({ severity, ...problem }: SourceGap): void => {
      (severity === 'error' ? gapErrors : warnings).push({ ...problem, reason: 'missing' });
    };
    const gapCheck = createSourceGapCheck(
      source.name,
      options.keys,
      new Set((listed.get('data') ?? []).map((o) => _name(o.key))),
      new Set([...(have.get('data')?.keys() ?? [])].map(_name)),
    );
    /** Reads an object of the source, handing index objects and manifests to the gap check. */
    const read = async (kind: ReplicatedKind, o: ObjectInfo): Promise<Buffer | undefined> => {
      const bytes = o.key === 'config' ? sourceConfig : await _get(source, o.key, signal);
      if (bytes === undefined) return undefined; // deleted on the source since it was listed
      // Only objects at their own keys come here (those in another folder were set aside above).
      if (kind === 'index') gapCheck.addIndex(_name(o.key), bytes);
      if (kind === 'snapshots') {
        const gap = gapCheck.checkManifest(_name(o.key), bytes);
        if (gap) addGap(gap);
      }
      return bytes;
    };

    const kinds = Object.fromEntries(
      REPLICATION_ORDER.map((k) => [
        k,
        { copied: 0, copiedBytes: 0, present: 0, failed: 0, vanished: 0 },
      ]),
    ) as Record<ReplicatedKind, KindReport>;
    const concurrency =
      options.concurrency ??
      Math.max(1, Math.min(source.properties.connections, target.properties.connections));
    const limit = pLimit(concurrency);
    const retain = options.retainUntil;
    const locks = [lock, targetLock];

    // What each class needs: objects to copy, and objects only to read. The gap check needs
    // every index object and manifest, the replica's or not: those the replica holds are read
    // (not written) beside the copies.
    const work = new Map<ReplicatedKind, { todo: ObjectInfo[]; readOnly: ObjectInfo[] }>();
    const total = { objects: 0, bytes: 0 };
    for (const kind of REPLICATION_ORDER) {
      const held = have.get(kind) ?? new Map<string, number>();
      const todo: ObjectInfo[] = [];
      const present: ObjectInfo[] = [];
      for (const o of listed.get(kind) ?? []) (held.get(o.key) === o.size ? present : todo).push(o);
      kinds[kind].present = present.length;
      const readOnly = kind === 'index' || kind === 'snapshots' ? present : [];
      work.set(kind, { todo, readOnly });
      for (const o of [...todo, ...readOnly]) {
        total.objects++;
        total.bytes += o.size;
      }
    }
    let done = 0;
    let doneBytes = 0;
    const progress = (kind: ReplicatedKind, o: ObjectInfo): void => {
      done++;
      doneBytes += o.size;
      options.onProgress?.({
        kind,
        objectsDone: done,
        objectsTotal: total.objects,
        bytesDone: doneBytes,
        bytesTotal: total.bytes,
      });
    };

    for (const kind of REPLICATION_ORDER) {
      const { todo, readOnly } = work.get(kind) ?? { todo: [], readOnly: [] };
      const report = kinds[kind];
      const copyOne = async (o: ObjectInfo): Promise<void> => {
        signal?.throwIfAborted();
        const bytes = await read(kind, o);
        if (bytes === undefined) {
          report.vanished++; // deleted on the source since it was listed
        } else if (o.key !== 'config' && _sha256(bytes) !== _name(o.key)) {
          report.failed++;
          errors.push({
            key: o.key,
            kind,
            reason: 'integrity',
            message: `[replicate:${source.name}] ${o.key}: content does not match its name (SHA-256 ${_sha256(bytes).slice(0, 16)}…); damaged on the source, not copied`,
          });
        } else {
          // A lock not refreshed for long may be taken for stale, and a prune of either side
          // may then delete what this run still copies or relies on (as a backup's commit).
          for (const l of locks) l.throwIfLost();
          await target.put(o.key, bytes, { signal, ...(retain ? { retainUntil: retain } : {}) });
          report.copied++;
          report.copiedBytes += bytes.length;
        }
        progress(kind, o);
      };
      const readOne = async (o: ObjectInfo): Promise<void> => {
        signal?.throwIfAborted();
        await read(kind, o);
        progress(kind, o);
      };
      // Objects are held whole in memory while copied: big packs (packSize goes up to 1 GiB)
      // lower the concurrency so that about MEMORY_BUDGET bytes are in flight at most.
      const largest = [...todo, ...readOnly].reduce((n, o) => Math.max(n, o.size), 0);
      limit.concurrency = Math.max(
        1,
        Math.min(concurrency, Math.floor(MEMORY_BUDGET / Math.max(1, largest))),
      );
      // Every object of a class lands before the next class starts (index after its packs).
      await Promise.all([
        ...todo.map((o) => limit(() => copyOne(o))),
        ...readOnly.map((o) => limit(() => readOne(o))),
      ]).catch((error: unknown) => {
        limit.clearQueue();
        throw error;
      });
      if (kind === 'index') for (const gap of gapCheck.missingPacks()) addGap(gap);
    }
    const keyProblem = await _checkKey(source, target, options.keyId, errors, signal);
    if (keyProblem) errors.push(keyProblem);
    const all = Object.values(kinds);
    return {
      source: source.name,
      target: target.name,
      newReplica,
      kinds,
      copiedObjects: all.reduce((n, k) => n + k.copied, 0),
      copiedBytes: all.reduce((n, k) => n + k.copiedBytes, 0),
      errors: [...gapErrors, ...errors],
      warnings,
      ok: gapErrors.length === 0 && errors.length === 0,
      durationMs: Date.now() - started,
    };
  } finally {
    await targetLock?.release();
    await lock.release();
  }
}

// --- internal ---

/**
 * The replica opens with the key that opened the source only if it holds that key object as the
 * source does: a problem when it does not (unless copying already named that key as damaged).
 */
async function _checkKey(
  source: Store,
  target: Store,
  keyId: string,
  errors: readonly ReplicationProblem[],
  signal?: AbortSignal,
): Promise<ReplicationProblem | undefined> {
  const key = `keys/${keyId}`;
  if (errors.some((e) => e.key === key)) return undefined;
  const theirs = await _get(source, key, signal);
  if (!theirs) return undefined; // removed from the source meanwhile (`hbr key remove`)
  const ours = await _get(target, key, signal);
  if (ours?.equals(theirs)) return undefined;
  return {
    key,
    kind: 'keys',
    reason: 'key',
    message: `[replicate:${target.name}] ${key}, the key that opened the source, is ${ours ? 'damaged' : 'missing'} on the replica, so the replica would not open with that password or key file${ours ? '; delete it there and replicate again' : ''}`,
  };
}

/** Returns whether the target is new; refuses a target that holds another repository. */
async function _checkTarget(
  source: Store,
  target: Store,
  sourceConfig: Buffer,
  signal?: AbortSignal,
): Promise<boolean> {
  if (!(await target.head('config', { signal }))) return true;
  const targetConfig = await target.get('config', { signal });
  if (!targetConfig.equals(sourceConfig)) {
    // Another repository's config shares nothing with this one's (its own nonce and key); a
    // damaged copy of this one differs in a few bytes.
    if (targetConfig.length === sourceConfig.length) {
      let differing = 0;
      for (let i = 0; i < sourceConfig.length; i++)
        if (targetConfig[i] !== sourceConfig[i]) differing++;
      if (differing <= Math.max(4, sourceConfig.length / 100)) {
        throw new IntegrityError(
          `[replicate] ${target.name}: its config is damaged (${differing} byte(s) differ from ${source.name}'s); restore that object from the source, then replicate again`,
        );
      }
    }
    throw new UsageError(
      `[replicate] ${target.name} holds a different repository than ${source.name} (their config objects differ); replicate into an empty location or the same repository's replica`,
    );
  }
  return false;
}

async function _list(
  store: Store,
  prefix: string,
  signal: AbortSignal | undefined,
  onListed: () => void,
): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of store.list(prefix, { signal })) {
    onListed();
    // Temporary or foreign files are not repository objects.
    if (/^[0-9a-f]{64}$/.test(o.key.slice(o.key.lastIndexOf('/') + 1))) out.push(o);
  }
  return out;
}

async function _get(store: Store, key: string, signal?: AbortSignal): Promise<Buffer | undefined> {
  try {
    return await store.get(key, { signal });
  } catch (error) {
    // Forget and `key remove` may delete manifests and key files while replication runs.
    const deletable =
      key.startsWith('snapshots/') || key.startsWith('keys/') || key.startsWith('notes/');
    if (error instanceof StoreError && error.status === 404 && deletable) return undefined;
    throw error;
  }
}

function _sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** An object's name: the last part of its key (the SHA-256 of its bytes). */
function _name(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** Where an object of `kind` named `name` belongs. */
function _keyOf(kind: 'data' | 'index' | 'snapshots' | 'keys', name: string): string {
  return kind === 'data' ? packKey(name) : `${kind}/${name}`;
}

/** The listed objects of `kind` at their own keys, and those elsewhere. */
function _byPlace(
  kind: 'data' | 'index' | 'snapshots' | 'keys',
  listed: readonly ObjectInfo[],
): [ObjectInfo[], ObjectInfo[]] {
  const inPlace: ObjectInfo[] = [];
  const misplaced: ObjectInfo[] = [];
  for (const o of listed) (o.key === _keyOf(kind, _name(o.key)) ? inPlace : misplaced).push(o);
  return [inPlace, misplaced];
}

const _WHAT = {
  data: 'a pack',
  index: 'an index object',
  snapshots: 'a manifest',
  keys: 'a key file',
};

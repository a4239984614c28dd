/**
 * Gaps in a replication's source: what the source's own objects name but the source lacks —
 * packs its index objects list, and the root trees of its backups that no index object lists
 * (an index object lost). Replication cannot copy what is not there; without this a replica
 * inherits the gap, the run says it succeeded, and only a check of the replica finds it.
 * @module
 */
import pLimit from 'p-limit';
import { isHbrError, StoreError } from '../errors.ts';
import type { ObjectInfo, Store } from '../stores/types.ts';
import type { RepositoryKeys } from './crypto.ts';
import { openIndex } from './index-file.ts';
import { decodeManifest } from './manifest.ts';
import { createMasterIndex } from './master-index.ts';
import { packKey } from './pack.ts';

/** One thing the source names but lacks. */
export interface SourceGap {
  /** The missing pack's key, or the manifest whose root tree is in no index. */
  readonly key: string;
  readonly kind: 'data' | 'snapshots';
  /**
   * `error`: neither the source nor the replica has it. `warning`: a pack the replica still holds
   * (copied by an earlier run): the replica is whole, the source is not.
   */
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

/**
 * Reads every index object and manifest listed on the source (small objects: a backup reads
 * the whole index too) and returns each pack an index object names that is on neither store,
 * and each backup whose root tree no index object lists. A damaged index object or manifest is
 * left out here: copying names it, as it does any object that does not match its name.
 * @param listed the source's listings, taken manifests → index → packs, so every pack an
 *   index object names was written before the packs were listed
 * @param targetPacks pack ids the replica holds
 */
export async function findSourceGaps(
  source: Store,
  keys: RepositoryKeys,
  listed: { index: readonly ObjectInfo[]; snapshots: readonly ObjectInfo[]; packs: Set<string> },
  targetPacks: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<SourceGap[]> {
  const limit = pLimit(Math.max(1, source.properties.connections));
  const index = createMasterIndex();
  const missing = new Map<string, string>(); // pack id → an index object naming it
  await Promise.all(
    listed.index.map((o) =>
      limit(async () => {
        const id = o.key.slice('index/'.length);
        const bytes = await source.get(o.key, { signal });
        const packs = _decoded(() => openIndex(keys, id, bytes));
        if (!packs) return;
        index.addStored(packs);
        for (const p of packs)
          if (!listed.packs.has(p.packId) && !missing.has(p.packId)) missing.set(p.packId, id);
      }),
    ),
  );
  const gaps: SourceGap[] = [];
  for (const [packId, indexId] of missing) {
    const onReplica = targetPacks.has(packId);
    gaps.push({
      key: packKey(packId),
      kind: 'data',
      severity: onReplica ? 'warning' : 'error',
      message: onReplica
        ? `[replicate:${source.name}] ${packKey(packId)} (listed by index ${indexId.slice(0, 16)}…) is missing from the source; the replica still holds it: copy it back to repair the source`
        : `[replicate:${source.name}] ${packKey(packId)} (listed by index ${indexId.slice(0, 16)}…) is missing from the source, so the replica lacks it too: the blobs in it cannot be restored from either; run \`hbr check\` on the source`,
    });
  }
  await Promise.all(
    listed.snapshots.map((o) =>
      limit(async () => {
        const id = o.key.slice('snapshots/'.length);
        const bytes = await _getDeletable(source, o.key, signal);
        if (!bytes) return; // forgotten since it was listed
        const backup = _decoded(() => decodeManifest(keys, id, bytes));
        if (!backup || index.has(Buffer.from(backup.tree, 'hex'))) return;
        gaps.push({
          key: o.key,
          kind: 'snapshots',
          severity: 'error',
          message: `[replicate:${source.name}] backup ${id.slice(0, 8)}: its root tree ${backup.tree.slice(0, 16)}… is in no index object of the source (one is missing), so neither the source nor the replica can restore it; run \`hbr check\` on the source`,
        });
      }),
    ),
  );
  return gaps;
}

// --- internal ---

/** `decode()`, or undefined for damage (an `HbrError`): copying reports that. */
function _decoded<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (error) {
    if (isHbrError(error)) return undefined;
    throw error;
  }
}

async function _getDeletable(
  store: Store,
  key: string,
  signal?: AbortSignal,
): Promise<Buffer | undefined> {
  try {
    return await store.get(key, { signal });
  } catch (error) {
    if (error instanceof StoreError && error.status === 404) return undefined;
    throw error;
  }
}

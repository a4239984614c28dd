/**
 * Gaps in a replication's source: what the source's own objects name but the source lacks —
 * packs its index objects list, and the root trees of its backups that no index object lists
 * (an index object lost). Replication cannot copy what is not there; without this a replica
 * inherits the gap, the run says it succeeded, and only a check of the replica finds it.
 * @module
 */
import { isHbrError } from '../errors.ts';
import type { RepositoryKeys } from './crypto.ts';
import { openIndex } from './index-file.ts';
import { decodeManifest, manifestKey } from './manifest.ts';
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
 * Finds the gaps from the bytes of the source's index objects and manifests, as replication
 * reads them to copy them or to pass them over (so each is read once a run). Every listed index
 * object is added first, then the packs are asked for, then each manifest is checked. A damaged
 * index object or manifest is left out here: copying names it, as it does any object that does
 * not match its name.
 */
export interface SourceGapCheck {
  /** Takes one index object (its id and bytes as stored). */
  addIndex(id: string, bytes: Buffer): void;
  /** Each pack an added index object names that the source does not hold. */
  missingPacks(): SourceGap[];
  /** The gap of one backup (its id and manifest bytes), if no added index object lists its root tree. */
  checkManifest(id: string, bytes: Buffer): SourceGap | undefined;
}

/**
 * Starts a gap check of the source `sourceName`.
 * @param listedPacks pack ids the source holds, listed after its index objects, so every pack a
 *   listed index object names was written before the packs were listed
 * @param targetPacks pack ids the replica holds
 */
export function createSourceGapCheck(
  sourceName: string,
  keys: RepositoryKeys,
  listedPacks: ReadonlySet<string>,
  targetPacks: ReadonlySet<string>,
): SourceGapCheck {
  const index = createMasterIndex();
  const missing = new Map<string, string>(); // pack id → an index object naming it
  return {
    addIndex(id, bytes) {
      const packs = _decoded(() => openIndex(keys, id, bytes));
      if (!packs) return;
      index.addStored(packs);
      for (const p of packs)
        if (!listedPacks.has(p.packId) && !missing.has(p.packId)) missing.set(p.packId, id);
    },
    missingPacks() {
      return [...missing].map(([packId, indexId]) => {
        const onReplica = targetPacks.has(packId);
        return {
          key: packKey(packId),
          kind: 'data',
          severity: onReplica ? 'warning' : 'error',
          message: onReplica
            ? `[replicate:${sourceName}] ${packKey(packId)} (listed by index ${indexId.slice(0, 16)}…) is missing from the source; the replica still holds it: copy it back to repair the source`
            : `[replicate:${sourceName}] ${packKey(packId)} (listed by index ${indexId.slice(0, 16)}…) is missing from the source, so the replica lacks it too: the blobs in it cannot be restored from either; run \`hbr check\` on the source`,
        };
      });
    },
    checkManifest(id, bytes) {
      const backup = _decoded(() => decodeManifest(keys, id, bytes));
      if (!backup || index.has(Buffer.from(backup.tree, 'hex'))) return undefined;
      return {
        key: manifestKey(id),
        kind: 'snapshots',
        severity: 'error',
        message: `[replicate:${sourceName}] backup ${id.slice(0, 8)}: its root tree ${backup.tree.slice(0, 16)}… is in no index object of the source (one is missing), so neither the source nor the replica can restore it; run \`hbr check\` on the source`,
      };
    },
  };
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

/**
 * Reading many small blobs of one pack with a single ranged read: restoring thousands of small
 * files blob by blob costs a store request each, while their blobs usually sit side by side in
 * a few packs. Every blob is still authenticated and re-hashed before it is returned.
 * @module
 */
import { NotFoundError } from '../errors.ts';
import { keepLease, leaseDecodedBlob } from './codec-pool.ts';
import type { BlobLocation } from './master-index.ts';
import { packKey } from './pack.ts';
import type { OpenRepository } from './repository.ts';

/** A data blob to read, with where the index says it is. */
export interface BatchBlob {
  readonly id: Buffer;
  readonly where: BlobLocation;
}

/**
 * Groups blobs into batches that one ranged read each can serve: same pack, sorted by offset,
 * spanning at most `maxSpan` bytes (a single larger blob forms its own batch).
 */
export function planBatches(blobs: readonly BatchBlob[], maxSpan: number): BatchBlob[][] {
  const sorted = [...blobs].sort(
    (a, b) => a.where.packId.localeCompare(b.where.packId) || a.where.offset - b.where.offset,
  );
  const batches: BatchBlob[][] = [];
  let current: BatchBlob[] = [];
  for (const blob of sorted) {
    const first = current[0];
    const end = blob.where.offset + blob.where.length;
    if (first && (first.where.packId !== blob.where.packId || end - first.where.offset > maxSpan)) {
      batches.push(current);
      current = [];
    }
    current.push(blob);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Reads one batch (blobs of one pack, sorted by offset) with one ranged read and decodes every
 * blob. Resolves with each blob's verified plaintext, or the error that blob failed with (a
 * failed read fails them all).
 */
export async function readBatch(
  repo: OpenRepository,
  batch: readonly BatchBlob[],
  signal?: AbortSignal,
): Promise<(Buffer | Error)[]> {
  const first = batch[0];
  const last = batch.at(-1);
  if (!first || !last) return [];
  const start = first.where.offset;
  const end = last.where.offset + last.where.length;
  let bytes: Buffer;
  try {
    bytes = await repo.store.get(packKey(first.where.packId), {
      range: { offset: start, length: end - start },
      signal,
    });
  } catch (error) {
    return batch.map(() => (error instanceof Error ? error : new NotFoundError(String(error))));
  }
  return Promise.all(
    batch.map(async ({ id, where }) => {
      const what = `data blob ${id.toString('hex').slice(0, 16)} in pack ${where.packId}`;
      try {
        const at = where.offset - start;
        const encoded = bytes.subarray(at, at + where.length);
        return keepLease(
          await leaseDecodedBlob(repo.keys, 'data', id, encoded, where.rawLength, what),
        );
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    }),
  );
}

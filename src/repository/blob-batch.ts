/**
 * Reading many small blobs of one pack with a single ranged read: restoring thousands of small
 * files blob by blob costs a store request each, while their blobs usually sit side by side in
 * a few packs. Every blob is still authenticated and re-hashed before it is written.
 * @module
 */
import { NotFoundError } from '../errors.ts';
import type { FileWritten, RestoreFile } from './codec-messages.ts';
import { restoreBlobsAway } from './codec-pool.ts';
import type { BlobLocation } from './master-index.ts';
import { packKey } from './pack.ts';
import type { OpenRepository } from './repository.ts';
import { compareText } from '../util/compare-text.ts';

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
    (a, b) => compareText(a.where.packId, b.where.packId) || a.where.offset - b.where.offset,
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
 * Restores the files of one batch (blobs of one pack, sorted by offset; `files[i]` are the files
 * whose whole content is blob `i`) with one ranged read, which a codec worker decodes, verifies
 * and writes (see {@link restoreBlobsAway}). The read goes into `options.into` when it is long
 * enough and the store can (shared memory, from `sharedBuffer`; the caller may reuse it once this
 * resolves), else into fresh memory that moves to the worker; `options.decode` may hold the
 * handing over until fewer batches wait at the workers.
 * @returns per blob, per file: `undefined` once written, {@link FileWritten} when written without
 * its owner (util/owner-refusal.ts) or asked for its identity, else the error it failed with (a
 * failed read fails them all).
 */
export async function restoreBatch(
  repo: OpenRepository,
  batch: readonly BatchBlob[],
  files: readonly (readonly RestoreFile[])[],
  options: {
    readonly signal?: AbortSignal | undefined;
    readonly into?: Buffer | undefined;
    /** Runs the handing of the bytes read to a codec worker (a limit of batches at the workers). */
    readonly decode?: <T>(handOver: () => Promise<T>) => Promise<T>;
  } = {},
): Promise<(Error | FileWritten | undefined)[][]> {
  const { signal, into } = options;
  const decode = options.decode ?? (<T>(handOver: () => Promise<T>) => handOver());
  const first = batch[0];
  const last = batch.at(-1);
  if (!first || !last) return [];
  const start = first.where.offset;
  const end = last.where.offset + last.where.length;
  const failAll = (error: unknown): Error[][] => {
    const failure = error instanceof Error ? error : new NotFoundError(String(error));
    return batch.map((_, i) => (files[i] ?? []).map(() => failure));
  };
  let bytes: Buffer;
  try {
    bytes = await repo.store.get(packKey(first.where.packId), {
      range: { offset: start, length: end - start },
      signal,
      // Most of a restore's batches are short (380 of the 562 of the benchmark's artifacts under
      // 256 KiB): read on the main thread, a cold restore waited there 0.9 s for the device.
      alongside: true,
      ...(into && into.length >= end - start ? { into } : {}),
    });
  } catch (error) {
    return failAll(error);
  }
  const blobs = batch.map(({ id, where }, i) => ({
    offset: where.offset - start,
    length: where.length,
    // Its own bytes: a message would copy the whole (pooled) buffer under a view.
    id: new Uint8Array(id),
    rawLength: where.rawLength,
    what: `data blob ${id.toString('hex').slice(0, 16)} in pack ${where.packId}`,
    files: files[i] ?? [],
  }));
  return decode(async () => {
    // Read before an abort, it may have waited at the gate past it: none is handed over then.
    signal?.throwIfAborted();
    return restoreBlobsAway(repo.keys, bytes, blobs);
  }).catch(failAll);
}

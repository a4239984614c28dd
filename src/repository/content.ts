/**
 * Content streams: a byte stream becomes an ordered list of blob ids (chunked, saved, hashed),
 * and a list of blob ids becomes a verified byte stream again.
 * @module
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { IntegrityError } from '../errors.ts';
import type { BlobSaver } from './blob-saver.ts';
import type { Chunker } from './chunker.ts';
import type { OpenRepository } from './repository.ts';

/** A stored byte stream. */
export interface StoredContent {
  /** Blob ids (hex) in order. */
  readonly content: string[];
  readonly size: number;
  /** SHA-256 (hex) of the whole stream. */
  readonly sha256: string;
}

/** Chunk saves in flight per stream: enough to keep zstd busy on the thread pool. */
const SAVES_IN_FLIGHT = 8;

/**
 * Chunks, deduplicates and stores a stream. Chunks are views into the stream's buffers, so
 * sources must not reuse a buffer after yielding it (`fs` streams and child stdout don't).
 */
export async function saveContent(
  saver: BlobSaver,
  chunker: Chunker,
  source: AsyncIterable<Uint8Array>,
  options: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<StoredContent> {
  const hash = createHash('sha256');
  const ids: Promise<Buffer>[] = [];
  let size = 0;
  let oldest = 0;
  const save = async (chunk: Buffer): Promise<void> => {
    const saved = saver.save('data', chunk, options.signal);
    saved.catch(() => undefined); // awaited below, in order; this only avoids an early unhandled rejection
    ids.push(saved);
    while (ids.length - oldest > SAVES_IN_FLIGHT) await ids[oldest++];
  };
  for await (const data of source) {
    options.signal?.throwIfAborted();
    const buf = Buffer.isBuffer(data)
      ? data
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    hash.update(buf);
    size += buf.length;
    for (const chunk of chunker.push(buf)) await save(chunk);
    options.onBytes?.(buf.length);
  }
  const last = chunker.finish();
  if (last) await save(last);
  const content = (await Promise.all(ids)).map((id) => id.toString('hex'));
  return { content, size, sha256: hash.digest('hex') };
}

/** Blobs read ahead of the consumer when streaming content back. */
const READ_AHEAD = 6;

/**
 * Streams stored content back in order, each blob verified before it is emitted, and the whole
 * stream checked against `sha256` at the end.
 * @throws IntegrityError (as a stream error) naming `what` on any mismatch.
 */
export function readContent(
  repo: OpenRepository,
  stored: { content: readonly string[]; sha256?: string; size?: number },
  options: { signal?: AbortSignal; what: string },
): Readable {
  async function* blobs(): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    const ahead: Promise<Buffer>[] = [];
    let next = 0;
    let size = 0;
    const fill = (): void => {
      while (ahead.length < READ_AHEAD && next < stored.content.length) {
        const id = Buffer.from(stored.content[next++] ?? '', 'hex');
        const read = repo.readBlob('data', id, options.signal);
        read.catch(() => undefined); // consumed in order below
        ahead.push(read);
      }
    };
    fill();
    while (ahead.length > 0) {
      const blob = await (ahead.shift() as Promise<Buffer>);
      fill();
      hash.update(blob);
      size += blob.length;
      yield blob;
    }
    if (stored.size !== undefined && size !== stored.size) {
      throw new IntegrityError(`${options.what}: ${size} bytes read, ${stored.size} expected`);
    }
    if (stored.sha256 !== undefined && hash.digest('hex') !== stored.sha256) {
      throw new IntegrityError(`${options.what}: content does not match its SHA-256`);
    }
  }
  return Readable.from(blobs(), { objectMode: false, highWaterMark: 1 });
}

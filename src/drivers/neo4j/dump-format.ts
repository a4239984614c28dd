/**
 * The `.dump` container of `neo4j-admin database dump`, unwrapped and rebuilt as streams.
 *
 * A 5.x dump is 4 magic bytes (`DZV1`: zstd, `DGV1`: gzip fallback) followed by one compressed
 * stream; dumps from older versions have no magic. Inside the zstd variant is a 24-byte metadata
 * header (`zstd`, int32 version, int64 file count, int64 byte count, big-endian) and then a POSIX
 * tar of the store and transaction-log files (research §1.9, verified on 5.26.30).
 *
 * Storing the compressed dump would defeat the repository's deduplication (one changed page
 * changes every compressed byte after it), so backups store the unwrapped content, in which
 * unchanged store files are unchanged byte runs, and restores rebuild a dump that `database
 * load` accepts. The rebuilt dump is not byte-identical to the original (another compressor),
 * but its content is.
 *
 * zstd runs as the `zstd` CLI (Debian package `zstd`): it streams in constant memory in a process
 * of its own, while the binding hbr uses for blobs (`zstd-napi`) would decode on this process's
 * main thread, which is busy storing the dump. gzip uses node:zlib. Unwrapping also zeroes the
 * tar's access times (`dump-tar.ts`).
 * @module
 */
import { execa } from 'execa';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { SourceError } from '../../errors.ts';
import {
  DUMP_METADATA_LENGTH,
  ENTRY_BOUNDARY,
  normalizeDumpContent,
  type EntryCapture,
} from './dump-tar.ts';

/** The container variants: magic-prefixed (5.x) or bare legacy streams. */
export type DumpFormat = 'DZV1' | 'DGV1' | 'zstd' | 'gzip';

/** The metadata header at the start of a zstd dump's content. */
export interface DumpMetadata {
  readonly version: number;
  readonly fileCount: number;
  readonly byteCount: number;
}

/** Options of {@link unwrapDump} and {@link wrapDump}. */
export interface DumpStreamOptions {
  readonly signal?: AbortSignal;
  /** zstd executable. @default 'zstd' */
  readonly zstd?: string;
  /** zstd level for {@link wrapDump}. @default 3 */
  readonly level?: number;
  /**
   * {@link unwrapDump}: zero the PAX access times so an unchanged store unwraps to identical
   * bytes (see `dump-tar.ts`). @default true
   */
  readonly normalize?: boolean;
  /**
   * {@link unwrapDump}: also mark where tar entries and their state pages begin (object mode,
   * `ENTRY_BOUNDARY` between Buffers; see `dump-tar.ts`). Needs `normalize`. @default false
   */
  readonly markEntries?: boolean;
  /** {@link unwrapDump}: small files to hand over as they pass (`dump-tar.ts`). Needs `normalize`. */
  readonly capture?: EntryCapture;
}

export { DUMP_METADATA_LENGTH, ENTRY_BOUNDARY };

/**
 * Streams the decompressed content of a dump and tells which container it came in.
 * @throws SourceError when the stream is not a dump or the zstd CLI is missing; corrupt
 *   compressed data surfaces as an error of `content`.
 */
export async function unwrapDump(
  dump: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: DumpStreamOptions = {},
): Promise<{ format: DumpFormat; content: Readable }> {
  const { head, rest } = await readHead(dump, 4);
  const magic = head.subarray(0, 4).toString('latin1');
  let format: DumpFormat;
  if (magic === 'DZV1' || magic === 'DGV1') format = magic;
  else if (head.readUInt32BE(0) === 0x28b52ffd) format = 'zstd';
  else if (head[0] === 0x1f && head[1] === 0x8b) format = 'gzip';
  else
    throw new SourceError(
      `[neo4j:dump] not a Neo4j dump: starts with 0x${head.subarray(0, 4).toString('hex')}`,
    );
  const body = format === 'DZV1' || format === 'DGV1' ? head.subarray(4) : head;
  const source = Readable.from(concat(body, rest), { objectMode: false });
  const codec =
    format === 'DZV1' || format === 'zstd'
      ? await zstd(['-d', '-c', '-q'], options)
      : createGunzip();
  const content = pipe(source, codec);
  return {
    format,
    content:
      options.normalize === false
        ? content
        : pipe(
            content,
            normalizeDumpContent({
              markEntries: options.markEntries === true,
              ...(options.capture ? { capture: options.capture } : {}),
            }),
          ),
  };
}

/**
 * Rebuilds a dump in `format` from unwrapped content (the inverse of {@link unwrapDump}).
 * @throws SourceError when the zstd CLI is missing.
 */
export async function wrapDump(
  content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  format: DumpFormat,
  options: DumpStreamOptions = {},
): Promise<Readable> {
  const codec =
    format === 'DZV1' || format === 'zstd'
      ? await zstd(['-c', '-q', '--check', `-${options.level ?? 3}`, '-T0'], options)
      : createGzip();
  const compressed = pipe(Readable.from(content, { objectMode: false }), codec);
  if (format === 'zstd' || format === 'gzip') return compressed;
  return Readable.from(concat(Buffer.from(format, 'latin1'), compressed), { objectMode: false });
}

/**
 * Reads the metadata header at the start of zstd dump content.
 * @throws SourceError when the header is missing.
 */
export function parseDumpMetadata(content: Uint8Array): DumpMetadata {
  const b = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  if (b.length < DUMP_METADATA_LENGTH || b.subarray(0, 4).toString('latin1') !== 'zstd') {
    throw new SourceError('[neo4j:dump] content has no dump metadata header');
  }
  return {
    version: b.readInt32BE(4),
    fileCount: Number(b.readBigInt64BE(8)),
    byteCount: Number(b.readBigInt64BE(16)),
  };
}

// --- internal ---

/** Reads at least `n` bytes (fewer only at end of stream); returns them and the iterator's rest. */
async function readHead(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  n: number,
): Promise<{ head: Buffer; rest: AsyncIterator<Uint8Array> }> {
  const it = (Readable.from(source, { objectMode: false }) as AsyncIterable<Uint8Array>)[
    Symbol.asyncIterator
  ]();
  const parts: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const next = await it.next();
    if (next.done === true) break;
    parts.push(Buffer.from(next.value));
    length += next.value.byteLength;
  }
  const head = Buffer.concat(parts);
  if (head.length < n)
    throw new SourceError(`[neo4j:dump] stream too short (${head.length} bytes) for a dump`);
  return { head, rest: it };
}

async function* concat(
  first: Uint8Array,
  rest: AsyncIterator<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  if (first.byteLength > 0) yield first;
  const it = Symbol.asyncIterator in rest ? rest[Symbol.asyncIterator]() : rest;
  for (;;) {
    const next = await it.next();
    if (next.done === true) return;
    yield next.value;
  }
}

/** Pipes `source` into `target` and returns `target`; an error anywhere destroys both with it. */
function pipe(source: Readable, target: Duplex): Readable {
  // The callback only keeps pipeline from throwing; the error reaches consumers through `target`.
  pipeline(source, target, () => undefined);
  return target;
}

async function zstd(args: string[], options: DumpStreamOptions): Promise<Duplex> {
  const file = options.zstd ?? 'zstd';
  try {
    await execa(file, ['--version'], { stdin: 'ignore' });
  } catch (error) {
    throw new SourceError(
      `[neo4j:dump] the zstd command (${file}) is not available; install it (apt-get install zstd)`,
      { cause: error },
    );
  }
  // buffer: false, or execa keeps a copy of all output and fails past maxBuffer (100 MB).
  return execa(file, args, {
    buffer: false,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  }).duplex();
}

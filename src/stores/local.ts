import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readdirSync, statSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DeleteForbiddenError, StoreError } from '../errors.ts';
import { createDirectWrites, type DirectFile } from '../util/direct-writes.ts';
import { readFully, readFullyAsync } from '../util/read-fully.ts';
import { writeFully } from '../util/write-fully.ts';
import type { GetOptions, ObjectInfo, ObjectWriter, PutOptions, Store } from './types.ts';

/** Ranged reads up to this many bytes are made with synchronous calls (see `get`). */
const SMALL_READ = 256 * 1024;

/**
 * Objects from this size on (packs) are written past the page cache (util/direct-writes.ts),
 * through 16 MiB of aligned memory: a first backup of the benchmark writes 1.2 GB of packs, which
 * the page cache of its virtual machine charged seconds of system time for.
 */
const DIRECT_FROM = 1024 * 1024;

/** How the names of temporary files begin: listings skip them, `removeTemporary` removes them. */
const TEMP_PREFIX = '.tmp-';

/** Options of {@link createLocalStore}. */
export interface LocalStoreOptions {
  /** Absolute or relative path of the repository folder. */
  readonly path: string;
}

/**
 * A store in a local folder. Writes go to a temporary file in the same folder, are fsynced,
 * then renamed into place, so a crash never leaves a partial object under its real name.
 */
export function createLocalStore(options: LocalStoreOptions): Store {
  const root = options.path;
  const name = `local:${root}`;
  const pathOf = (key: string): string => join(root, ...key.split('/'));
  // A backup fills a data and a tree pack at once (see `createWriter`), each holding one piece
  // while it fills; the data pack writes two more meanwhile. Pieces of 4 MiB, a quarter of a
  // pack: a warm first backup of the benchmark makes 287 writes instead of 1,112 and half the
  // device requests (1,118 instead of 2,150: the device takes at most 254 memory segments a
  // request, and 1 MiB pieces went as two), for 0.1-0.3 s less CPU (11 of 11 triples).
  const direct = createDirectWrites({ pieceBytes: 4 * 1024 * 1024, pieces: 4, perFile: 2 });
  const fail = (op: string, key: string, error: unknown): StoreError => {
    const code = (error as NodeJS.ErrnoException).code;
    const status =
      code === 'ENOENT' ? 404 : code === 'EACCES' || code === 'EPERM' ? 403 : undefined;
    // Missing objects, permission and space problems will not fix themselves on retry.
    const permanent =
      status !== undefined || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS';
    const reason = code === 'ENOSPC' ? 'no space left on device' : (error as Error).message;
    return new StoreError(`[store:${name}] ${op} ${key}: ${reason}`, {
      permanent,
      status,
      cause: error,
    });
  };

  /** A new temporary file in `folder`, past the page cache if `large` and the system allows. */
  const openTemp = async (folder: string, large: boolean): Promise<_TempFile> => {
    const path = join(folder, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const past = large ? await direct.create(path, 0o600) : undefined;
    return _tempFile(path, past ?? _cachedFile(await open(path, 'wx', 0o600)));
  };

  /** Makes `temp` durable under `key`, or removes it when that fails. */
  const commitTemp = async (temp: _TempFile, key: string): Promise<void> => {
    const target = pathOf(key);
    try {
      await temp.finish();
      // A writer's file lies in the root; `put` made the key's folder before its file.
      if (dirname(temp.path) !== dirname(target)) await _makeFolder(dirname(target));
      await rename(temp.path, target);
      await _syncDirectory(dirname(target));
    } catch (error) {
      await temp.abort();
      throw fail('put', key, error);
    }
  };

  return {
    name,
    properties: { connections: 4, remote: false, supportsRetention: false },

    async get(key: string, opts: GetOptions = {}): Promise<Buffer> {
      /** The range asked for, checked against the object's size. */
      const rangeIn = (size: number): { offset: number; length: number } => {
        const offset = opts.range?.offset ?? 0;
        const length = opts.range?.length ?? size - offset;
        if (offset < 0 || length < 0 || offset + length > size) {
          throw new StoreError(
            `[store:${name}] get ${key}: range ${offset}+${length} is outside the object (${size} bytes)`,
            { permanent: true, status: 416 },
          );
        }
        return { offset, length };
      };
      const bufferFor = (length: number): Buffer => {
        const into = opts.into && opts.into.byteLength >= length ? opts.into : undefined;
        return into
          ? Buffer.from(into.buffer, into.byteOffset, length)
          : Buffer.allocUnsafe(length);
      };
      const whole = (buffer: Buffer, done: number): Buffer => {
        if (done === buffer.length) return buffer;
        throw new StoreError(`[store:${name}] get ${key}: object shrank while reading`, {
          permanent: false,
        });
      };
      try {
        // Opened, sized and closed with synchronous calls (microseconds each from the inode
        // cache), only the read itself on the thread pool, and not even that for a small range
        // (the tree of a folder a backup walks): each thread-pool round trip waits its turn
        // behind the command's other work. An unchanged re-backup of the benchmark's 20,000
        // files: 1.08 s instead of 1.15 with small ranges read so (medians of 8, also from
        // cold); a restore, reading its large files' blobs one by one, took four round trips
        // per blob before.
        const fd = openSync(pathOf(key), constants.O_RDONLY);
        try {
          const { offset, length } = rangeIn(fstatSync(fd).size);
          const buffer = bufferFor(length);
          const done =
            opts.range && length <= SMALL_READ && !opts.alongside
              ? readFully(fd, buffer, 0, length, offset)
              : await readFullyAsync(fd, buffer, 0, length, offset);
          return whole(buffer, done);
        } finally {
          closeSync(fd);
        }
      } catch (error) {
        if (error instanceof StoreError) throw error;
        throw fail('get', key, error);
      }
    },

    async put(key: string, data: Uint8Array, _opts: PutOptions = {}): Promise<void> {
      const folder = dirname(pathOf(key));
      let temp: _TempFile | undefined;
      try {
        await _makeFolder(folder);
        temp = await openTemp(folder, data.length >= DIRECT_FROM);
        await temp.write(data);
      } catch (error) {
        await temp?.abort();
        throw fail('put', key, error);
      }
      await commitTemp(temp, key);
    },

    async createWriter(): Promise<ObjectWriter> {
      // In the root folder: the key, and so the folder, is known only at the commit.
      let temp: _TempFile;
      try {
        await _makeFolder(root);
        temp = await openTemp(root, true);
      } catch (error) {
        throw fail('write', '(new object)', error);
      }
      const { path } = temp;
      return {
        async write(bytes) {
          try {
            await temp.write(bytes);
          } catch (error) {
            throw fail('write', path, error);
          }
        },
        commit: (key) => commitTemp(temp, key),
        abort: () => temp.abort(),
      };
    },

    async head(key: string): Promise<ObjectInfo | undefined> {
      try {
        const info = await stat(pathOf(key));
        return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
      } catch (error) {
        // ENOTDIR: a file stands where a folder of the key would be (a --repo naming a file):
        // no object can be there, as for ENOENT.
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw fail('head', key, error);
      }
    },

    async *list(prefix: string): AsyncIterable<ObjectInfo> {
      // Walk only the folder the prefix names, then filter by the rest of the prefix.
      const slash = prefix.lastIndexOf('/');
      const folder = slash >= 0 ? prefix.slice(0, slash) : '';
      yield* _walk(root, folder, prefix, fail);
    },

    async removeTemporary({ olderThan, signal }): Promise<number> {
      let removed = 0;
      try {
        const entries = await readdir(root, { recursive: true, withFileTypes: true });
        for (const entry of entries) {
          signal?.throwIfAborted();
          if (!entry.isFile() || !entry.name.startsWith(TEMP_PREFIX)) continue;
          const path = join(entry.parentPath, entry.name);
          const info = await stat(path).catch(() => undefined);
          if (!info || info.mtime >= olderThan) continue;
          await rm(path, { force: true });
          removed++;
        }
      } catch (error) {
        if (signal?.aborted) throw error;
        throw fail('remove', `${TEMP_PREFIX}*`, error);
      }
      return removed;
    },

    async delete(key: string): Promise<void> {
      try {
        await unlink(pathOf(key));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (code === 'EACCES' || code === 'EPERM') {
          throw new DeleteForbiddenError(
            `[store:${name}] delete ${key}: this credential cannot delete (${code})`,
            { cause: error },
          );
        }
        throw fail('delete', key, error);
      }
    },
  };
}

// --- internal ---

/** A temporary file written in order, then made durable (`finish`) or removed (`abort`). */
interface _TempFile {
  readonly path: string;
  /** Appends the bytes; they may be reused once this resolves. */
  write(bytes: Uint8Array): Promise<void>;
  /** Writes out what is left, `fdatasync`s and closes the file. */
  finish(): Promise<void>;
  /** Closes and removes the file; never throws. */
  abort(): Promise<void>;
}

function _tempFile(path: string, file: DirectFile): _TempFile {
  let length = 0;
  let closed = false;
  return {
    path,
    async write(bytes) {
      const at = length;
      length += bytes.length;
      await file.write(
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
        0,
        bytes.length,
        at,
      );
    },
    async finish() {
      closed = true;
      await file.finish({ sync: true });
    },
    async abort() {
      if (!closed) {
        closed = true;
        await file.abort();
      }
      await rm(path, { force: true }).catch(() => undefined);
    },
  };
}

/** A file written through the page cache, as a {@link DirectFile} is past it. */
function _cachedFile(handle: FileHandle): DirectFile {
  return {
    // One call for the whole buffer (a pack is 16 MiB): `writeFile` would issue one per 512 KiB,
    // each a thread-pool round trip for the calling thread.
    write: (buffer, offset, length, position) =>
      writeFully(handle, buffer, offset, length, position),
    async finish(options) {
      try {
        if (options?.sync) await handle.datasync();
      } finally {
        await handle.close();
      }
    },
    abort: () => handle.close().catch(() => undefined),
  };
}

async function* _walk(
  root: string,
  folder: string,
  prefix: string,
  fail: (op: string, key: string, error: unknown) => StoreError,
): AsyncIterable<ObjectInfo> {
  // Synchronous calls, a folder at a time: each takes microseconds from the inode cache, where a
  // thread-pool round trip per folder and per file made listing the benchmark's 83 packs in 72
  // folders take 16-18 ms of every backup's start.
  let entries;
  try {
    entries = readdirSync(join(root, ...folder.split('/').filter(Boolean)), {
      withFileTypes: true,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fail('list', prefix, error);
  }
  const files: ObjectInfo[] = [];
  const folders: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(TEMP_PREFIX)) continue;
    const key = folder ? `${folder}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) folders.push(key);
    } else if (entry.isFile() && key.startsWith(prefix)) {
      const info = _statOf(join(root, ...key.split('/')));
      if (info) files.push({ key, size: info.size, lastModified: info.mtime });
    }
  }
  yield* files;
  for (const key of folders) yield* _walk(root, key, prefix, fail);
}

/** A file's size and mtime; undefined when it cannot be stat'ed (gone since its folder was read). */
function _statOf(path: string): { size: number; mtime: Date } | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Makes `folder` and any missing parents, durably: a new folder's entry is in its parent, and
 * until that is flushed a crash may lose the folder with every object committed into it.
 */
async function _makeFolder(folder: string): Promise<void> {
  const created = await mkdir(folder, { recursive: true });
  if (created === undefined) return; // there already: the common case, one call
  for (let made = folder; made !== dirname(created); made = dirname(made))
    await _syncDirectory(dirname(made));
}

async function _syncDirectory(path: string): Promise<void> {
  // A rename is durable only once its directory entry is flushed.
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

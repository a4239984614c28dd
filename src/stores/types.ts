/**
 * The Store interface: where a repository's bytes live (local folder, Azure Blob, S3).
 * Keys are slash-separated relative paths such as `data/ab/ab12…`, `index/…`, `snapshots/…`,
 * `keys/…`, `locks/…` and `config`. Stores know nothing of the repository format.
 * @module
 */

/** What a store can do; callers branch on these, never on `instanceof`. */
export interface StoreProperties {
  /** Parallel requests this store handles well (restic: local 2, remote 5+). */
  readonly connections: number;
  /**
   * Each request crosses a network: a round trip of milliseconds before the first byte, where a
   * local disk answers in microseconds. Readers then keep up to `connections` reads in flight to
   * hide it (see `readsInFlight`), where they read a local disk with as few as memory needs.
   */
  readonly remote: boolean;
  /** The store can set a retain-until date on written objects (S3 Object Lock, Azure immutability). */
  readonly supportsRetention: boolean;
}

/**
 * Parallel requests to Azure or S3 unless the location says otherwise (`connections=N`). Each
 * read waits a round trip before its first byte, and a restore keeps one in flight per connection:
 * behind 100 ms of added latency (a proxy in front of Azurite), a restore of the benchmark's data
 * at scale 0.25 (479 MiB) took 10.6-10.9 s with 16 instead of 17.1-17.7 with 5 (8.4-8.8 without
 * the latency), at 30-70 MB more peak RSS (the whole benchmark, 1.9 GB, without added latency:
 * 16.1 s and 319 MB against 17.9 s and 288 MB). A backup uploads at most 2 packs at once whatever
 * this says, and replicate holds at most 96 MiB of objects.
 */
export const REMOTE_CONNECTIONS = 16;

/** A byte range of an object: `length` bytes starting at `offset`. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** One object as listed or headed. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /**
   * When the object was written, by the store's own clock (S3 and Azure: the server's; local:
   * the file's mtime, set by the kernel or the file server), never by the writer's. Lock
   * staleness is judged by it, so that a writer whose clock is wrong cannot make a live lock
   * look old. Undefined only where a server did not say.
   */
  readonly lastModified?: Date;
}

export interface GetOptions {
  /** Read only this range. A range past the end of the object is an error. */
  readonly range?: ByteRange;
  readonly signal?: AbortSignal;
  /**
   * Memory to read into, at least as long as the bytes asked for: a store that can (local) reads
   * straight into it and returns a view of it, saving fresh memory and a copy per read; others
   * ignore it. Callers compare the result with `into` to know which happened.
   */
  readonly into?: Uint8Array;
  /**
   * The caller has other work to do while this reads: a store that reads short ranges on the
   * calling thread (local) reads this one on the thread pool, where a trip to the device holds
   * nothing else up.
   */
  readonly alongside?: boolean;
}

export interface PutOptions {
  /** Keep the object undeletable until this time, where `properties.supportsRetention`. */
  readonly retainUntil?: Date;
  readonly signal?: AbortSignal;
}

/**
 * A place to keep objects. Contract, checked by `test/contracts/store.ts` for every store:
 * - `put` is atomic: readers see the whole object or none of it, never a prefix, even if the
 *   process dies mid-write. Putting a key that already exists must not corrupt it: hbr only ever
 *   re-puts identical bytes (names are hashes), so a store may skip or replace.
 * - `get` of a missing key throws `StoreError` with `permanent: true` and `status: 404`.
 * - `head` of a missing key returns `undefined`.
 * - `list(prefix)` yields every object whose key starts with `prefix`, in no particular order.
 * - `head` and `list` report `lastModified` by one clock of the store's, the same for every
 *   writer: an object put after another's put ended is never reported older than it.
 * - `delete` of a missing key succeeds (deletes are idempotent); a credential that may not
 *   delete, or an object under retention, throws `DeleteForbiddenError`; a credential the
 *   service does not accept at all (wrong secret, expired) throws `StoreError`, never that.
 * - Every error is a `StoreError` naming the store and the key; `permanent` says whether a
 *   retry could help.
 */
export interface Store {
  /** For messages and logs, without secrets: `local:/srv/repo`, `azure:acct/container/prefix`. */
  readonly name: string;
  readonly properties: StoreProperties;
  get(key: string, options?: GetOptions): Promise<Buffer>;
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<void>;
  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo | undefined>;
  list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo>;
  delete(key: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Extends the retention of an existing object (no-op where retention is unsupported). */
  extendRetention?(
    key: string,
    retainUntil: Date,
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /**
   * Starts an object written as its bytes come, for one whose key is known only at the end (a
   * pack is named by the hash of its bytes); see {@link ObjectWriter}. Stores that write to a
   * local disk offer it, where it spares holding the whole object in memory; callers of others
   * use `put`.
   */
  createWriter?(options?: { signal?: AbortSignal }): Promise<ObjectWriter>;
  /**
   * Removes the temporary files that writes cut short by a crash left behind, those last written
   * before `olderThan` (a write under way keeps its file recent). Stores whose writes the server
   * makes atomic (S3, Azure) leave none and do not offer it. Only safe where nothing else writes:
   * prune calls it under its exclusive lock.
   * @returns how many files were removed.
   */
  removeTemporary?(options: { olderThan: Date; signal?: AbortSignal }): Promise<number>;
  /** Releases clients and sockets. */
  close?(): Promise<void>;
}

/**
 * An object being written in order (see `Store.createWriter`). Nothing is visible under any key
 * until `commit`, which makes the whole object appear under its key as atomically as `put`.
 */
export interface ObjectWriter {
  /** Appends the bytes; resolves once they are copied (the caller may reuse them after). */
  write(bytes: Uint8Array): Promise<void>;
  /** Writes out what is left, makes it durable, and names it `key`. Call once, after the writes. */
  commit(key: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Gives the object up: nothing of it stays. Never throws. */
  abort(): Promise<void>;
}

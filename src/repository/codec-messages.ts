/**
 * Messages between `codec-pool.ts` and `codec-worker.ts`. The bytes of a blob never travel in a
 * message: they sit in a slot of memory shared with every worker, and a message names the slot
 * and the length used. Each request names a job; the reply carries the same job.
 * @module
 */
import type { BlobType, CompressionPolicy } from './blob-codec.ts';

/** What a worker is given when it starts. */
export interface CodecWorkerData {
  readonly slab: SharedArrayBuffer;
  readonly slotSize: number;
}

/** What the main thread asks a codec worker. */
export type CodecRequest =
  /** Hash the plaintext in the slot; with `from`, copy it there first from a `cut` job's ring. */
  | {
      op: 'identify';
      job: number;
      slot: number;
      length: number;
      idKey: Uint8Array;
      from?: RingPlace;
    }
  /** Encode the plaintext in the slot; the encoded blob replaces it there. */
  | {
      op: 'encode';
      job: number;
      slot: number;
      length: number;
      dataKey: Uint8Array;
      type: BlobType;
      id: Uint8Array;
      policy: CompressionPolicy;
    }
  /** Decode and verify the stored blob in the slot; its plaintext replaces it there. */
  | {
      op: 'decode';
      job: number;
      slot: number;
      length: number;
      idKey: Uint8Array;
      dataKey: Uint8Array;
      type: BlobType;
      id: Uint8Array;
      rawLength: number;
      what: string;
    }
  /**
   * Read `length` bytes at `position` of the open file `fd` (a descriptor of this process) into
   * the slot and hash them, as `identify` does for a plaintext already there. A large file's
   * chunks, cut by another worker from its own read of the file (`cut`), are read again here so
   * that the main thread copies none of them. Fewer bytes are hashed when the file ends sooner
   * (it shrank since it was cut); the reply says how many.
   */
  | {
      op: 'range';
      job: number;
      slot: number;
      fd: number;
      position: number;
      length: number;
      idKey: Uint8Array;
    }
  /**
   * Hash consecutive ranges of the open file `fd`, from `position`, of these lengths, each read
   * into the worker's own buffer and kept nowhere: for a changed version of a large file, most
   * of whose chunks are stored already, many chunks in one request, so the worker hashes on
   * while the main thread is busy (the caller reads the few new ones again, with `range`). A
   * range the file ends in is hashed as far as it goes; those past its end have no id.
   */
  | {
      op: 'ranges';
      job: number;
      fd: number;
      position: number;
      lengths: readonly number[];
      idKey: Uint8Array;
    }
  /**
   * Read the open file `fd` from `position`, where a chunk starts, to its end, and cut it into
   * chunks with the gear table and sizes given (as `createChunker` does). One reply per `span`
   * bytes or so, the worker going on by itself (other requests are served
   * between spans), the last saying the file ended; nothing goes to a slot. A `cancel` naming
   * the job ends it early, with a last reply.
   *
   * With `ring`, the file is read once for the cut and the chunks' hashing: `span` bytes at a
   * time into the ring's pieces in turn, past the page cache where the file system allows, the
   * next piece read while this one is cut. Each reply says where in the ring its first chunk
   * starts (a chunk may wrap around its end); the chunks are the main thread's until a `free`
   * gives their bytes back. Spans are read from `position` rounded down to a block.
   */
  | {
      op: 'cut';
      job: number;
      fd: number;
      position: number;
      span: number;
      gear: Int32Array;
      min: number;
      avg: number;
      max: number;
      ring?: CutRing;
    }
  /**
   * Give the bytes of a `cut` job's ring back to the job `target`, up to the file position
   * `through` (every chunk before it has been copied out). No reply.
   */
  | { op: 'free'; job: number; target: number; through: number }
  /**
   * Read small files, each into its own part of the slot (file `k` from `k × stride`, which
   * leaves room for `maxSize + 1` bytes and the encoding's overhead), hash and encode each there,
   * as `identify` and `encode` do for a plaintext already in the slot: many files a message. A
   * file is not read when it is not a regular file (symbolic links are not followed) or `fstat`
   * gives more than `maxSize` bytes; not hashed when it is empty or grew past `maxSize` while
   * read.
   */
  | {
      op: 'files';
      job: number;
      slot: number;
      paths: readonly string[];
      stride: number;
      maxSize: number;
      idKey: Uint8Array;
      dataKey: Uint8Array;
      policy: CompressionPolicy;
    }
  /**
   * Decode and verify the stored blobs lying in `data` (one ranged read of a pack, handed over
   * with the message), and write each to its files, after checking each file's size and SHA-256
   * when given: created as `temp` (exclusively), given its mode and times (seconds), renamed to
   * `path`. The small files of a restore, one ranged read at a time.
   */
  | {
      op: 'restore';
      job: number;
      data: Uint8Array;
      idKey: Uint8Array;
      dataKey: Uint8Array;
      blobs: readonly RestoreBlob[];
    }
  /**
   * Decode and verify the stored blobs lying in other shared memory (a pack being checked),
   * keeping nothing.
   */
  | {
      op: 'verify';
      job: number;
      /** The bytes `offset .. offset + length` of it; blobs' offsets count from `offset`. */
      memory: SharedArrayBuffer;
      offset: number;
      length: number;
      idKey: Uint8Array;
      dataKey: Uint8Array;
      blobs: readonly VerifyBlob[];
    }
  /** End the `cut` job `target` at its next span. No reply of its own. */
  | { op: 'cancel'; job: number; target: number }
  /** SHA-256 (hex) of bytes in other shared memory: a pack about to be stored. */
  | { op: 'digest'; job: number; memory: SharedArrayBuffer; offset: number; length: number };

/**
 * Memory a `cut` job reads its file into, `pieces` spans of the job's `span` bytes from the start
 * of `memory`, which is aligned for reads past the page cache.
 */
export interface CutRing {
  readonly memory: SharedArrayBuffer;
  readonly pieces: number;
}

/** Where a chunk lies in a `cut` job's ring: from `at`, wrapping at `size` to the ring's start. */
export interface RingPlace {
  readonly memory: SharedArrayBuffer;
  readonly size: number;
  readonly at: number;
}

/** A data blob of a `restore` request: where it lies in `data`, and the files it becomes. */
export interface RestoreBlob {
  readonly offset: number;
  readonly length: number;
  readonly id: Uint8Array;
  readonly rawLength: number;
  /** Names the blob in an error. */
  readonly what: string;
  readonly files: readonly RestoreFile[];
}

/** A blob of a `verify` request: where it lies in the memory, and what it must decode to. */
export interface VerifyBlob {
  readonly offset: number;
  readonly length: number;
  readonly type: BlobType;
  readonly id: Uint8Array;
  readonly rawLength: number;
}

/** A file to write whole from one blob; what is at `path` is replaced by the rename. */
export interface RestoreFile {
  readonly path: string;
  readonly temp: string;
  /** Permission bits to set, setuid and setgid already left out where they must not be restored. */
  readonly mode: number;
  /** Owner and group to give the file (`fchown`, before its mode): only when restoring as root. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** Seconds since the epoch, a decimal string (`utimes` takes a negative number for "now"). */
  readonly time: string;
  /** Names the file in an error. */
  readonly what: string;
  readonly size?: number;
  readonly sha256?: string;
  /**
   * Tell the file's identity ({@link FileWritten.identity}): a hard link's leader, which its
   * other links are made links of (drivers/files/hard-links.ts). Only those: others cost nothing.
   */
  readonly identify?: boolean;
}

/** What `fstat` says of a file, before and after it was read. */
export interface FileVersion {
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly mode: bigint;
  readonly dev: bigint;
  readonly ino: bigint;
  /**
   * Status change time: moves with every write, and with a change of the modification time
   * too, so a file rewritten to its old size and mtime (`touch -r`, `cp -p` of another version)
   * is still seen changed.
   */
  readonly ctimeNs: bigint;
  /** Owner and group, numeric: restored when the restore runs as root. */
  readonly uid: bigint;
  readonly gid: bigint;
  /** Link count: a file of more than one has hard links, recorded in its node (`links`). */
  readonly nlink: bigint;
  /**
   * 512-byte blocks allocated: fewer than the size takes, and the file has holes, recorded in its
   * node (`sparse`).
   */
  readonly blocks: bigint;
}

/** A small file of a `files` request, read. */
export interface FileRead {
  readonly before: FileVersion;
  readonly after: FileVersion;
  /** Bytes read: none when `skipped`. */
  readonly rawLength: number;
  /** Not read: not a regular file, or over `maxSize`. */
  readonly skipped?: true;
  /** The blob's id and encoded length, absent for an empty file or one over `maxSize`. */
  readonly blob?: { readonly id: Uint8Array; readonly length: number };
}

/** A codec worker's answer to one request: an id, the length now in the slot, or an error. */
export type CodecReply =
  | { job: number; id: Uint8Array }
  /** Per file of a `files` request, in order: what was read, or why it could not be. */
  | { job: number; files: (FileRead | { error: CodecFailure & { code?: string } })[] }
  /**
   * Chunks of a `cut` job, in order: their lengths, and whether this is its last reply (the end
   * of the file; or an empty reply after a `cancel`). With a ring, where the first chunk starts
   * in it.
   */
  | { job: number; cut: { lengths: number[]; end: boolean; at?: number } }
  /** A `range` request's bytes: their id (none when there were none) and how many. */
  | { job: number; range: { id?: Uint8Array; length: number } }
  /** Per range of a `ranges` request, as a `range` reply. */
  | { job: number; ranges: { id?: Uint8Array; length: number }[] }
  | { job: number; sha256: string }
  /** The blobs of a `verify` request that failed, by their place in it. */
  | { job: number; bad: number[] }
  /**
   * Per blob of a `restore` request, per file: `null` once written with nothing to tell,
   * {@link FileWritten} once written with something to tell, else why it was not.
   */
  | { job: number; restored: (CodecFailure | FileWritten | null)[][] }
  | { job: number; length: number }
  | { job: number; error: CodecFailure & { code?: string } };

/** What a file written tells, when it has something to. */
export interface FileWritten {
  /** Written without its owner (util/owner-refusal.ts): the `chown` error's code. */
  readonly ownerNotSet?: string;
  /**
   * Its identity (util/file-identity.ts) from the descriptor it was written through, when asked
   * for ({@link RestoreFile.identify}).
   */
  readonly identity?: string;
}

/** Why a request, a blob or a file failed, as a message carries it. */
export interface CodecFailure {
  readonly message: string;
  /** An IntegrityError: the stored bytes do not verify. */
  readonly integrity: boolean;
}

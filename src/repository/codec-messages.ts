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
  /** Hash the plaintext in the slot. */
  | { op: 'identify'; job: number; slot: number; length: number; idKey: Uint8Array }
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
   * Read a small file into the slot, hash it and encode it there, as `identify` and `encode` do
   * for a plaintext already in the slot. Not read when it is not a regular file (symbolic links
   * are not followed) or `fstat` gives more than `maxSize` bytes; not hashed when it is empty or
   * grew past `maxSize` while read.
   */
  | {
      op: 'file';
      job: number;
      slot: number;
      path: string;
      maxSize: number;
      idKey: Uint8Array;
      dataKey: Uint8Array;
      policy: CompressionPolicy;
    }
  /**
   * Write `data` (copied with the message: small files need no slot) to a new file `temp`
   * (created exclusively), set its mode and times (seconds), then rename it to `path`: a
   * restored small file.
   */
  | {
      op: 'write';
      job: number;
      data: Uint8Array;
      path: string;
      temp: string;
      mode: number;
      time: number;
    }
  /** SHA-256 (hex) of bytes in other shared memory: a pack about to be stored. */
  | { op: 'digest'; job: number; memory: SharedArrayBuffer; offset: number; length: number };

/** What `fstat` says of a file, before and after it was read. */
export interface FileVersion {
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly mode: bigint;
  readonly dev: bigint;
  readonly ino: bigint;
}

/** A codec worker's answer to one request: an id, the length now in the slot, or an error. */
export type CodecReply =
  | { job: number; id: Uint8Array }
  | {
      job: number;
      file: {
        before: FileVersion;
        after: FileVersion;
        /** Bytes read: none when `skipped`. */
        rawLength: number;
        /** Not read: not a regular file, or over `maxSize`. */
        skipped?: true;
        /** The blob's id and encoded length, absent for an empty file or one over `maxSize`. */
        blob?: { id: Uint8Array; length: number };
      };
    }
  | { job: number; sha256: string }
  | { job: number; length: number }
  | { job: number; error: { message: string; integrity: boolean; code?: string } };

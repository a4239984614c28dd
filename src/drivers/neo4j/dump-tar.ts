/**
 * Makes unwrapped dump content stable across backups of an unchanged store.
 *
 * Neo4j writes PAX extended headers with each file's `atime` (verified on 5.26.30). Reading a
 * file (the server starting, the dump itself) moves its atime, so two dumps of an identical store
 * differ in every header, and every header change costs the repository a chunk. This transform
 * rewrites the digits of each `atime=` value to zeros: same length, so every offset and the PAX
 * record lengths stay valid, and `database load` ignores access times anyway. Everything else
 * passes through untouched.
 * @module
 */
import { Transform, type TransformCallback } from 'node:stream';

const BLOCK = 512;

/** Length of the metadata header (`zstd`, int32, int64, int64) before the tar in zstd dumps. */
export const DUMP_METADATA_LENGTH = 24;

/** Creates the transform; feed it unwrapped dump content (metadata header optional). */
export function normalizeDumpContent(): Transform {
  let pending: Buffer = Buffer.alloc(0);
  let started = false;
  /** Bytes of file data still to pass through before the next header. */
  let passBytes = 0;
  /** Size of a PAX header body being collected, or -1. */
  let paxBytes = -1;

  const step = (out: Buffer[]): boolean => {
    if (!started) {
      if (pending.length < DUMP_METADATA_LENGTH) return false;
      started = true;
      const skip = pending.subarray(0, 4).toString('latin1') === 'zstd' ? DUMP_METADATA_LENGTH : 0;
      out.push(pending.subarray(0, skip));
      pending = pending.subarray(skip);
      return true;
    }
    if (passBytes > 0) {
      const n = Math.min(passBytes, pending.length);
      if (n === 0) return false;
      out.push(pending.subarray(0, n));
      pending = pending.subarray(n);
      passBytes -= n;
      return true;
    }
    if (paxBytes >= 0) {
      const padded = roundUp(paxBytes);
      if (pending.length < padded) return false;
      const body = Buffer.from(pending.subarray(0, padded));
      zeroAtime(body.subarray(0, paxBytes));
      out.push(body);
      pending = pending.subarray(padded);
      paxBytes = -1;
      return true;
    }
    if (pending.length < BLOCK) return false;
    const header = pending.subarray(0, BLOCK);
    out.push(header);
    pending = pending.subarray(BLOCK);
    const size = header.every((b) => b === 0) ? 0 : parseSize(header);
    const type = header[156];
    // 'x' (per-file) and 'g' (global) PAX headers are small: collect and rewrite them.
    if (type === 0x78 || type === 0x67) paxBytes = size;
    else passBytes = roundUp(size);
    return true;
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const out: Buffer[] = [];
      while (step(out));
      for (const b of out) if (b.length > 0) this.push(b);
      // Keep only what is needed; pass-through data never waits here.
      pending = Buffer.from(pending);
      callback();
    },
    flush(callback: TransformCallback) {
      // A trailing partial block (only in truncated content) goes out unchanged; load will judge it.
      if (pending.length > 0) this.push(pending);
      callback();
    },
  });
}

// --- internal ---

function roundUp(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/** The tar size field: octal text, or base-256 when the high bit of the first byte is set. */
function parseSize(header: Buffer): number {
  const field = header.subarray(124, 136);
  if ((field[0]! & 0x80) !== 0) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** Replaces the digits of every `atime=` record value with '0', in place. */
function zeroAtime(body: Buffer): void {
  const key = Buffer.from(' atime=', 'latin1');
  let at = body.indexOf(key);
  while (at >= 0) {
    let i = at + key.length;
    while (i < body.length && body[i] !== 0x0a) {
      if (body[i]! >= 0x30 && body[i]! <= 0x39) body[i] = 0x30;
      i++;
    }
    at = body.indexOf(key, i);
  }
}

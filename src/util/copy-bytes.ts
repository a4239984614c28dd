/**
 * Copying bytes at memcpy's speed whatever memory they lie in.
 *
 * hbr's hot copies touch shared memory (a `SharedArrayBuffer`: the codec workers' slots, the packs
 * being filled): a blob's ciphertext into its slot, an encoded blob into its pack, a restored blob
 * into the aligned pieces of a direct write. V8 copies to or from shared memory with relaxed atomic
 * loads and stores (`TypedArray.prototype.set`, and `Buffer.prototype.copy` on top of it), a byte
 * at a time unless both ends lie at the same offset modulo 8: 2.1-2.5 GB/s on the benchmark's
 * machine for such a copy of 8 MiB, where memcpy does 30 GB/s and more. A blob's offsets are
 * whatever the lengths before it make them, so seven copies in eight went the slow way.
 * `Buffer.prototype.fill` with a buffer as its value copies with memcpy (Node.js's C++) whatever
 * the memory, and with a value exactly as long as the range, it copies it once.
 * @module
 */

/**
 * Copies all of `source` into `target` at `at`, like `target.set(source, at)`; returns the bytes
 * copied (`source.length`).
 * @throws RangeError when `source` does not fit in `target` from `at`.
 */
export function copyBytes(source: Uint8Array, target: Uint8Array, at = 0): number {
  const length = source.length;
  if (at < 0 || at + length > target.length) {
    throw new RangeError(`copyBytes: ${length} bytes at ${at} past the target's ${target.length}`);
  }
  if (length === 0) return 0; // fill() refuses an empty value
  if (source.buffer === target.buffer) {
    target.set(source, at); // may overlap: set() copies as memmove does, memcpy would not
  } else {
    const into = Buffer.isBuffer(target)
      ? target
      : Buffer.from(target.buffer, target.byteOffset, target.length);
    into.fill(source, at, at + length);
  }
  return length;
}

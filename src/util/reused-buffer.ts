/**
 * A buffer kept for reuse call after call, since freshly allocated memory is slow on first touch
 * on the machines hbr runs on (each new page is a fault): `take(length)` returns it, replaced by
 * a larger one when `length` does not fit. The caller must be done with what it wrote there
 * before the next `take` (synchronous use on one thread keeps that true).
 * @module
 */

/** A new, empty reused buffer; see the module. */
export function reusedBuffer(): (length: number) => Buffer {
  let buffer = Buffer.alloc(0);
  return (length) => {
    if (buffer.length < length) buffer = Buffer.allocUnsafeSlow(length);
    return buffer;
  };
}

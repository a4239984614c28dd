/**
 * Page-aligned memory, as reads and writes past the page cache (`O_DIRECT`) want it: a
 * `WebAssembly.Memory`'s base is page-aligned, which a Node.js `Buffer` or a `SharedArrayBuffer`
 * need not be.
 * @module
 */
import { WebAssemblyApi } from './webassembly.ts';

/**
 * Offsets, lengths and memory of reads and writes past the page cache are multiples of this (any
 * device's block).
 */
export const DIRECT_ALIGN = 4096;

/** Bytes of a `WebAssembly.Memory` page: aligned memory comes in multiples of it. */
export const WASM_PAGE = 64 * 1024;

/**
 * At least `bytes` bytes of zeroed, page-aligned memory, rounded up to {@link WASM_PAGE}; with
 * `shared`, shared with the worker threads it is posted to.
 */
export function alignedMemory(bytes: number, options: { shared: true }): SharedArrayBuffer;
export function alignedMemory(bytes: number, options?: { shared?: false }): ArrayBuffer;
export function alignedMemory(
  bytes: number,
  options: { shared?: boolean } = {},
): ArrayBuffer | SharedArrayBuffer {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
  const shared = options.shared ?? false;
  return new WebAssemblyApi.Memory({ initial: pages, maximum: pages, shared }).buffer;
}

/**
 * The parts of the `WebAssembly` global hbr uses, typed: this project's `lib` (es2023) does not
 * declare it. Memory for reads and writes past the page cache (aligned-memory.ts) and the byte
 * lanes' SIMD module (repository/lanes-simd.ts).
 * @module
 */

interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => {
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
  };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

export const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
